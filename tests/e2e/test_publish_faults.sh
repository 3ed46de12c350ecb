# Registry faults during publish, injected by a proxy in front of the real
# registry: 500s, 429 with Retry-After, resets mid-body, a stall past the
# deadline, a wrong Docker-Content-Digest. For each: the right number of
# attempts, the right exit code, and afterwards every tag points at its old
# digest or the tested one, never anything else.
# FAULT_ROUNDS=N repeats every case N times (bench/publish-faults does).
source "$(dirname "$0")/lib.sh"

rounds=${FAULT_ROUNDS:-1}
start_fault_proxy "$GATE_REGISTRY"; proxy=$address
repo="e2e/faults-$$"
old=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "$repo" old) || fail "push old"
new=$(python3 "$tools/oci.py" push-index "$GATE_REGISTRY" "$repo" new) || fail "push new"
write_publish_config "$proxy/$repo" "[latest, stable]"
publish() {  # digest [extra args]
  local digest=$1
  shift
  "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$proxy/$repo@$digest" "$@" >"$scratch/out" 2>"$scratch/err"
}

violations=0
cases=0
check_tags() {  # case
  for tag in latest stable; do
    now=$(tag_digest "$GATE_REGISTRY/$repo" "$tag")
    if [ "$now" != "$old" ] && [ "$now" != "$new" ]; then
      violations=$((violations + 1))
      fail "$1: $tag points at $now, neither the old $old nor the tested $new"
    fi
  done
}
# case NAME RULES EXPECTED-EXIT METHOD PATH-REGEX EXPECTED-REQUESTS [publish args...]
run_case() {
  local name=$1 rules=$2 want_exit=$3 method=$4 path=$5 want_requests=$6
  shift 6
  echo '[]' >"$scratch/rules.json"
  publish "$old" || { fail "$name: could not reset the tags: $(cat "$scratch/err")"; return; }
  echo "$rules" >"$scratch/rules.json"
  : >"$scratch/proxy.jsonl"
  publish "$new" "$@"
  local rc=$?
  cases=$((cases + 1))
  expect_eq "$rc" "$want_exit" "$name: exit code ($(tail -n 3 "$scratch/err" | tr '\n' ' '))"
  expect_eq "$(proxy_count "$method" "$path")" "$want_requests" "$name: $method requests matching $path"
  check_tags "$name"
  if [ "$want_exit" = 0 ]; then
    expect_eq "$(tag_digest "$GATE_REGISTRY/$repo" latest)" "$new" "$name: latest after success"
    expect_eq "$(tag_digest "$GATE_REGISTRY/$repo" stable)" "$new" "$name: stable after success"
  else
    expect_eq "$(tag_digest "$GATE_REGISTRY/$repo" latest)" "$old" "$name: latest rolled back"
  fi
}

for round in $(seq 1 "$rounds"); do
  # Two 500s on one tag's PUT: retried, then published (1 + 2 retries).
  run_case "500 twice" '[{"method":"PUT","path":"/manifests/latest$","fault":"500","times":2}]' \
    0 PUT '/manifests/latest$' 3
  # A tag whose PUT always fails: 5 attempts, then the moved tag is set back; exit 3.
  run_case "500 always" '[{"method":"PUT","path":"/manifests/stable$","fault":"500"}]' \
    3 PUT '/manifests/stable$' 5
  grep -q "latest: restored to $old" "$scratch/err" || fail "500 always: rollback not reported"
  # 429 with Retry-After: 1 s honoured, then published. (The image's
  # manifest is read twice: to attach the override note, then to publish.)
  t0=$(date +%s.%N)
  run_case "429" '[{"method":"GET","path":"/manifests/sha256:","fault":"429","times":1,"retry_after":1}]' \
    0 GET '/manifests/sha256:' 3
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a >= 1.0) }' || fail "429: Retry-After was not honoured"
  # The connection reset mid-body, twice: retried, then published.
  run_case "reset mid-body" '[{"method":"GET","path":"/manifests/sha256:","fault":"reset","times":2}]' \
    0 GET '/manifests/sha256:' 4
  # A PUT that landed but whose answer was cut: the retry is idempotent.
  run_case "reset after PUT" '[{"method":"PUT","path":"/manifests/stable$","fault":"reset","times":1}]' \
    0 PUT '/manifests/stable$' 2
  # A stall past the deadline: exit 3 soon after it, nothing half-published.
  t0=$(date +%s)
  run_case "stall" '[{"method":"PUT","path":"/manifests/stable$","fault":"stall","times":1}]' \
    3 PUT '/manifests/stable$' 1 --registry-timeout 2s
  [ $(( $(date +%s) - t0 )) -lt 15 ] || fail "stall: took $(( $(date +%s) - t0 ))s with a 2s deadline"
  grep -q "deadline" "$scratch/err" || fail "stall: the error does not mention the deadline: $(cat "$scratch/err")"
  # The registry answers a digest that is not the tested one: rolled back, exit 3.
  # (2 PUTs on stable: the one answered wrongly, and the one setting it back.)
  run_case "wrong digest" '[{"method":"PUT","path":"/manifests/stable$","fault":"wrong-digest","times":1}]' \
    3 PUT '/manifests/stable$' 2
  expect_eq "$(tag_digest "$GATE_REGISTRY/$repo" stable)" "$old" "wrong digest: stable set back"
  # The registry freezes (as under SIGSTOP) at one tag's PUT for longer than
  # gate waits, then resumes and applies that PUT late. gate reads the tags
  # back once the registry answers, sets back what landed late, and reports
  # what each tag finally points at: all tags or none, and a true report.
  for frozen in stable latest; do
    # The frozen PUT reaches the registry a second after the reads that
    # follow it: a first read back sees the old digest.
    echo '[]' >"$scratch/rules.json"
    publish "$old" || fail "frozen at $frozen: could not reset the tags"
    echo "[{\"method\":\"PUT\",\"path\":\"/manifests/$frozen\$\",\"fault\":\"freeze\",\"times\":1,\"seconds\":5,\"late_by\":1}]" \
      >"$scratch/rules.json"
    publish "$new" --registry-timeout 2s
    expect_eq "$?" 3 "frozen at $frozen: exit code ($(tail -n 4 "$scratch/err" | tr '\n' ' '))"
    sleep 2  # anything still held by the proxy reaches the registry
    cases=$((cases + 1))
    check_tags "frozen at $frozen"
    for tag in latest stable; do
      now=$(tag_digest "$GATE_REGISTRY/$repo" "$tag")
      expect_eq "$now" "$old" "frozen at $frozen: $tag all-or-none"
      grep -Eq " $tag: (restored to|unchanged at) $now" "$scratch/err" ||
        fail "frozen at $frozen: the report for $tag is not what it points at ($now): $(grep -E " $tag:" "$scratch/err")"
    done
  done
  # A 404 is not retried.
  run_case "404 no retry" '[{"method":"GET","path":"/manifests/sha256:","fault":"404"}]' \
    3 GET '/manifests/sha256:' 1
done
echo "fault cases run: $cases, tags pointing anywhere but old or tested: $violations"

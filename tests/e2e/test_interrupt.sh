# SIGINT or SIGTERM while consumers run: children and containers stopped,
# nothing published, exit 130.
source "$(dirname "$0")/lib.sh"

for signal in INT TERM; do
  nap="200$$"
  marker="gate-e2e-int-$signal-$$"
  run="\"docker run --detach --name $marker \$EMULATOR_IMAGE >/dev/null; echo ready; sleep $nap\""
  write_demo_config v1 "$run" "    junit: \"reports/*.xml\""
  "$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/report-$signal" >"$scratch/out" 2>"$scratch/err" &
  gate_pid=$!
  for _ in $(seq 1 300); do
    grep -q '\[emucli\] ready' "$scratch/err" && break
    sleep 0.1
  done
  grep -q '\[emucli\] ready' "$scratch/err" || fail "the consumer never started"
  kill -"$signal" "$gate_pid"
  wait "$gate_pid"
  expect_eq "$?" 130 "exit code after SIG$signal"
  expect_file_contains "$scratch/err" "interrupted" "says it was interrupted"
  sleep 1
  if pgrep -f "sleep $nap" >/dev/null; then fail "SIG$signal: processes left behind: $(pgrep -af "sleep $nap")"; fi
  left=$(docker ps --all --quiet --filter "name=$marker")
  [ -z "$left" ] || fail "SIG$signal: container left behind: $left"
  expect_eq "$(tag_digest "$repository" latest)" none "SIG$signal: nothing published"
  expect_eq "$(json_get "$scratch/report-$signal/verdict.json" 'v["exit_code"]')" 130 "SIG$signal: verdict exit code"
done

# Waits until gate (PID, running command WHAT) stalls on the proxy, sends
# SIGINT, and expects exit 130.
interrupt_at_stall() {  # pid what
  for _ in $(seq 1 100); do grep -q '"fault": "stall"' "$scratch/proxy.jsonl" 2>/dev/null && break; sleep 0.1; done
  grep -q '"fault": "stall"' "$scratch/proxy.jsonl" || fail "the $2 never reached the record upload"
  kill -INT "$1"
  wait "$1"
  expect_eq "$?" 130 "$2 interrupted while recording"
}

# An interrupt while `gate merge` attaches the verification record (the
# registry stalls on the upload): the merge stops with 130 and its verdict
# says so; it does not carry on as passed.
write_demo_config v1
pushed=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b" 2>/dev/null)
digest=${pushed##*@}
start_fault_proxy "$GATE_REGISTRY"; proxy=$address
echo '[]' >"$scratch/rules.json"
sed "s|$GATE_REGISTRY/|$proxy/|" "$scratch/gate.yaml" >"$scratch/proxied.yaml"
"$GATE_BIN" test --config "$scratch/proxied.yaml" --candidate "$proxy/e2e/${test_name#test_}-$$@$digest" \
  --report-dir "$scratch/shard" >/dev/null 2>&1
expect_eq "$?" 0 "the shard passed"
echo '[{"method":"POST","path":"/blobs/uploads/","fault":"stall","seconds":30}]' >"$scratch/rules.json"
: >"$scratch/proxy.jsonl"
"$GATE_BIN" merge --config "$scratch/proxied.yaml" --report-dir "$scratch/merged" --cache-dir "$scratch/merge-cache" \
  "$scratch/shard" >/dev/null 2>"$scratch/merge.err" &
interrupt_at_stall $! merge
expect_eq "$(json_get "$scratch/merged/verdict.json" 'v["exit_code"]')" 130 "the merged verdict says interrupted"

# The same while `gate test` attaches its record as the reports are written
# (the record's upload stalls): exit 130, and the reports, written as passed
# a moment before, are written again saying interrupted.
: >"$scratch/proxy.jsonl"
"$GATE_BIN" test --config "$scratch/proxied.yaml" --candidate "$proxy/e2e/${test_name#test_}-$$@$digest" \
  --report-dir "$scratch/tested" >/dev/null 2>"$scratch/test.err" &
interrupt_at_stall $! test
expect_eq "$(json_get "$scratch/tested/verdict.json" 'v["exit_code"]')" 130 "the verdict says interrupted"
expect_file_contains "$scratch/tested/summary.md" "interrupted" "the summary says interrupted"
expect_file_contains "$scratch/test.err" "interrupted" "says it was interrupted"

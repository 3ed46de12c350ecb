# runner: ctest. Tests listed with `ctest -N` (disabled ones left out), run
# in batches on 2 workers over 2 shards; ctest's own --timeout stops a hung
# test (timed-out); a failing test is a regression; nothing is left running.
source "$(dirname "$0")/lib.sh"

consumer="$scratch/consumer"
mkdir -p "$consumer"
{
  echo 'cmake_minimum_required(VERSION 3.20)'
  echo 'project(consumer NONE)'
  echo 'enable_testing()'
  for i in $(seq 1 8); do echo "add_test(NAME quick_$i COMMAND sh -c \"sleep 0.2\")"; done
  echo 'add_test(NAME broken COMMAND sh -c "echo contract broken; exit 1")'
  echo 'add_test(NAME half_second COMMAND sleep 0.5)'
  echo "add_test(NAME zz_listing COMMAND sh -c \"cd .. && find . -type f -not -path './build/*' | sort >\$ENV{LISTING}\")"
  echo "add_test(NAME hang COMMAND sleep 20$$)"
  echo 'add_test(NAME off COMMAND true)'
  echo 'set_tests_properties(off PROPERTIES DISABLED TRUE)'
} >"$consumer/CMakeLists.txt"
make_repo "$consumer" >/dev/null 2>&1 || true
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m ctest

candidate=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "${repository#$GATE_REGISTRY/}" candidate)
cat >"$scratch/gate.yaml" <<YAML
version: 1
image: {repository: $repository}
consumers:
  - name: native
    repo: $consumer
    ref: main
    setup: "cmake -S . -B build >/dev/null"
    runner: ctest
    shards: 2
    parallel: 2
    test_timeout: 2s
YAML
export LISTING="$scratch/listing.txt"
all=""
for k in 1 2; do
  "$GATE_BIN" test --shard "$k/2" --config "$scratch/gate.yaml" --candidate "$repository@$candidate" \
    --report-dir "$scratch/s$k" >/dev/null 2>"$scratch/s$k.err"
  rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "shard $k exit $rc: $(grep error "$scratch/s$k.err" | head -2)"
  all="$all $(json_get "$scratch/s$k/verdict.json" '" ".join(t["id"] + "=" + t["outcome"] for t in v["consumers"][0]["tests"])')"
done
sorted=$(tr ' ' '\n' <<<"$all" | grep . | sort | tr '\n' ' ')
expect_eq "$sorted" "broken=regression half_second=passed hang=timed-out quick_1=passed quick_2=passed quick_3=passed quick_4=passed quick_5=passed quick_6=passed quick_7=passed quick_8=passed zz_listing=passed " "every test once, classified"
pgrep -f "sleep 20$$" >/dev/null && fail "the hung test was left running"
grep -h "blocked: native: test broken regression" "$scratch"/s*.err >/dev/null || fail "the regression is not named"

# With the default (relative) report directory: per-test seconds, the
# failure's message from ctest's output, and nothing of gate's in the checkout.
mkdir -p "$scratch/cwd"
(cd "$scratch/cwd" && "$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$candidate" >/dev/null 2>&1)
verdict="$scratch/cwd/gate-report/verdict.json"
expect_seconds_near "$verdict" 't["id"] == "half_second"' 0.5 "ctest per-test seconds"
expect_eq "$(json_get "$verdict" '[t.get("message") for t in v["consumers"][0]["tests"] if t["id"] == "broken"][0]')" "contract broken" \
  "the failure's message, from ctest's output"
expect_eq "$(tr '\n' ' ' <"$LISTING")" "./CMakeLists.txt ./first.txt " "the checkout holds the consumer's files only"

# With a published image and baseline: true, the test that fails on every
# image is pre-existing: the baseline ran in a fresh worktree, so setup (the
# cmake configure) ran again there, bound to the published digest.
published=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "${repository#$GATE_REGISTRY/}" latest)
sed -i "s|image: {repository: $repository}|image: {repository: $repository, publish_tags: [latest]}|; s/    shards: 2/    shards: 1\n    baseline: true/" "$scratch/gate.yaml"
sed -i 's|    setup: "cmake -S . -B build >/dev/null"|    setup: "echo setup for $GATE_CANDIDATE_DIGEST; cmake -S . -B build >/dev/null"|' "$scratch/gate.yaml"
"$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$candidate" --report-dir "$scratch/base" \
  >/dev/null 2>"$scratch/base.err"
verdict="$scratch/base/verdict.json"
expect_eq "$(json_get "$verdict" '" ".join(sorted(t["id"] + "=" + t["outcome"] for t in v["consumers"][0]["tests"] if t["outcome"] != "passed"))')" \
  "broken=pre-existing hang=timed-out" "ctest with a baseline"
expect_eq "$(json_get "$verdict" '(v["consumers"][0]["baseline"]["status"], [(p["role"], p["worktree"]) for p in v["consumers"][0]["phases"]])')" \
  "('used', [('candidate', 'checkout'), ('baseline', 'fresh')])" "the baseline phase, in a fresh worktree"
expect_file_contains "$scratch/base/logs/native.baseline.log" "setup for $published" "setup ran again, bound to the published digest"

# The CI fan-out simulated locally: gate plan -> one `gate test` per matrix
# entry (consumer x shard) -> gate merge -> gate publish --verdict. The merged
# verdict equals a single-machine run's; a missing shard, a duplicated one,
# or shards of different digests make merge exit 3.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
pushed=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b" 2>/dev/null)
digest=${pushed##*@}
candidate="$repository@$digest"

suite="$scratch/pysuite"
mkdir -p "$suite/tests"
for f in 1 2 3 4; do
  for t in 1 2 3 4 5; do
    if [ "$f$t" = 35 ]; then echo "def test_${f}_${t}(): assert False, 'broken on purpose'"
    else echo "def test_${f}_${t}(): import time; time.sleep(0.0$t)"; fi
  done >"$suite/tests/test_$f.py"
done
# What pytest collects can change without a commit (here: an environment
# variable); the fan-in must notice tests that went missing.
cat >"$suite/conftest.py" <<'PY'
import os
collect_ignore = os.environ.get("DROP_TESTS", "").split()
PY
make_repo "$suite" >/dev/null 2>&1 || true
git_quiet -C "$suite" add -A && git_quiet -C "$suite" commit -q -m suite
cat >>"$scratch/gate.yaml" <<YAML
  - name: pysuite
    repo: $suite
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
    shards: 3
    parallel: 2
    policy: {regression: warn}
YAML
"$GATE_BIN" validate --config "$scratch/gate.yaml" >/dev/null || fail "config invalid: $(cat "$scratch/gate.yaml")"

# Plan: consumer x shard, small whatever the number of tests.
GITHUB_OUTPUT="$scratch/gh-plan" "$GATE_BIN" plan --config "$scratch/gate.yaml" >"$scratch/matrix.json"
expect_eq "$?" 0 "plan exit"
expect_eq "$(python3 -c 'import json,sys; print(" ".join("%s:%d/%d" % (e["consumer"], e["shard"], e["shards"]) for e in json.load(open(sys.argv[1]))["include"]))' "$scratch/matrix.json")" \
  "emucli:1/1 pysuite:1/3 pysuite:2/3 pysuite:3/3" "matrix"
expect_file_contains "$scratch/gh-plan" '^matrix={"include":' "matrix as a job output"

# One process per matrix entry, as the shard jobs would run.
python3 -c 'import json,sys; [print(e["consumer"], e["shard"], e["shards"]) for e in json.load(open(sys.argv[1]))["include"]]' \
  "$scratch/matrix.json" >"$scratch/entries"
pids=()
while read -r consumer k n; do
  "$GATE_BIN" test --config "$scratch/gate.yaml" --consumer "$consumer" --shard "$k/$n" --candidate "$candidate" \
    --cache-dir "$scratch/cache-$consumer-$k" --report-dir "$scratch/shards/$consumer-$k" >/dev/null 2>&1 &
  pids+=($!)
done <"$scratch/entries"
for pid in "${pids[@]}"; do wait "$pid"; done
GITHUB_ACTIONS=true GITHUB_OUTPUT="$scratch/gh-merge" "$GATE_BIN" merge --config "$scratch/gate.yaml" \
  --report-dir "$scratch/merged" --cache-dir "$scratch/cache-merge" "$scratch"/shards/* >"$scratch/merge.out" 2>"$scratch/merge.err"
expect_eq "$?" 0 "merge exit ($(grep error "$scratch/merge.err"))"
expect_file_contains "$scratch/gh-merge" "^verdict=passed$" "verdict job output"
expect_file_contains "$scratch/gh-merge" "^digest=$digest$" "digest job output"
[ -s "$scratch/cache-merge/timings/pysuite.json" ] || fail "merge did not record the shards' durations"

# The single-machine run of the same candidate decides the same.
"$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$candidate" --report-dir "$scratch/single" >/dev/null 2>&1
summary='(v["exit_code"], v["candidate"]["digest"], sorted((c["name"], c["status"]) for c in v["consumers"]), sorted((t["id"], t.get("outcome", "")) for c in v["consumers"] for t in c["tests"]))'
expect_eq "$(json_get "$scratch/merged/verdict.json" "$summary")" "$(json_get "$scratch/single/verdict.json" "$summary")" "merged verdict equals the single run's"
expect_eq "$(json_get "$scratch/merged/verdict.json" 'len([t for c in v["consumers"] for t in c["tests"]])')" 26 "tests in the merged verdict"
xmllint --noout --schema "$GATE_SCHEMA_DIR/junit-10.xsd" "$scratch/merged/junit.xml" 2>/dev/null || fail "merged junit.xml invalid"
expect_file_contains "$scratch/merged/summary.md" "test_3_5" "merged summary names the warned test"

# Publish from the fan-in.
"$GATE_BIN" publish --config "$scratch/gate.yaml" --verdict "$scratch/merged/verdict.json" >/dev/null 2>&1
expect_eq "$?" 0 "publish --verdict from the fan-in"
expect_eq "$(tag_digest "$repository" latest)" "$digest" "published digest"

# An interrupt while the fan-in attaches its verification record stops the
# merge: exit 130 and a verdict that says so. (merge once had its own copy
# of the record rule, whose catch-all took the interrupt for a registry
# failure and merged green.) The registry here accepts and never answers.
start_stalled_server
sed "s|^  repository: .*|  repository: $address/acme/emu|" "$scratch/gate.yaml" >"$scratch/stalled.yaml"
"$GATE_BIN" merge --config "$scratch/stalled.yaml" --report-dir "$scratch/m-int" --cache-dir "$scratch/cache-int" \
  "$scratch"/shards/* >/dev/null 2>"$scratch/int.err" &
merge_pid=$!
for _ in $(seq 1 200); do grep -q "merged 4 shard report(s): passed" "$scratch/int.err" && break; sleep 0.05; done
expect_file_contains "$scratch/int.err" "merged 4 shard report(s): passed" "the fan-in reached the record"
sleep 1
kill -INT "$merge_pid"
wait "$merge_pid"
expect_eq "$?" 130 "merge interrupted while recording"
expect_eq "$(json_get "$scratch/m-int/verdict.json" 'v["exit_code"]')" 130 "the merged verdict says interrupted"
expect_file_contains "$scratch/int.err" "interrupted" "says so"

# Tests that vanish from every shard at the same commit (the consumer's
# environment drops a file from collection): no single shard can see it, the
# fan-in compares the whole consumer with its last passing run and blocks.
sed 's|    policy: {regression: warn}|    policy: {regression: warn}\n    env: {DROP_TESTS: "tests/test_4.py"}|' \
  "$scratch/gate.yaml" >"$scratch/drop.yaml"
pids=()
for k in 1 2 3; do
  "$GATE_BIN" test --config "$scratch/drop.yaml" --consumer pysuite --shard "$k/3" --candidate "$candidate" \
    --cache-dir "$scratch/cache-pysuite-$k" --report-dir "$scratch/drop-shards/pysuite-$k" >/dev/null 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
"$GATE_BIN" merge --config "$scratch/drop.yaml" --report-dir "$scratch/drop-merged" --cache-dir "$scratch/cache-merge" \
  "$scratch/shards/emucli-1" "$scratch"/drop-shards/* >/dev/null 2>"$scratch/drop.err"
expect_eq "$?" 1 "tests missing across the shards block ($(grep error "$scratch/drop.err" | head -2))"
expect_eq "$(json_get "$scratch/drop-merged/verdict.json" '" ".join(sorted(m.split("::")[-1] for c in v["consumers"] for m in c["missing"]))')" \
  "test_4_1 test_4_2 test_4_3 test_4_4 test_4_5" "the missing tests are named"
expect_file_contains "$scratch/drop.err" "5 test(s) that the last passing run" "says why"

# A missing shard: exit 3, never green.
mv "$scratch/shards/pysuite-2" "$scratch/held-back"
"$GATE_BIN" merge --config "$scratch/gate.yaml" --report-dir "$scratch/m2" "$scratch"/shards/* >/dev/null 2>"$scratch/err"
expect_eq "$?" 3 "merge without one shard"
expect_file_contains "$scratch/err" "shard 2/3 of consumer 'pysuite' is missing" "says which"
expect_eq "$(json_get "$scratch/m2/verdict.json" 'v["exit_code"]')" 3 "the merged verdict is not green"
# A shard given twice.
"$GATE_BIN" merge --config "$scratch/gate.yaml" --report-dir "$scratch/m3" "$scratch"/shards/* "$scratch/shards/pysuite-1" >/dev/null 2>"$scratch/err"
expect_eq "$?" 3 "merge with a duplicated shard"
# A shard that tested another digest.
write_demo_config v2
other=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b2" 2>/dev/null); other=${other##*@}
"$GATE_BIN" test --config "$scratch/gate.yaml" --consumer emucli --shard 1/1 --candidate "$repository@$other" \
  --report-dir "$scratch/wrong" >/dev/null 2>&1
"$GATE_BIN" merge --config "$scratch/gate.yaml" --report-dir "$scratch/m4" "$scratch/held-back" "$scratch/wrong" \
  "$scratch"/shards/pysuite-1 "$scratch"/shards/pysuite-3 >/dev/null 2>"$scratch/err"
expect_eq "$?" 3 "merge of shards with different digests"
expect_file_contains "$scratch/err" "shards tested different digests" "says why"

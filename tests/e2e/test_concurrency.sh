# Consumers at once (`concurrency:`): two consumers whose tests each take a
# while overlap with concurrency 2 and do not with 1 (each test writes when
# it ran, so the overlap is what happened, not a timing); the verdict lists
# them in configured order though the second ends first; a failed consumer
# does not stop the other unless fail_fast, and then the other is not-run
# and the verdict blocks.
source "$(dirname "$0")/lib.sh"

candidate=$(python3 "$GATE_SOURCE_DIR/tests/tools/oci.py" push-image "$GATE_REGISTRY" "${repository#*/}" candidate)
for name in slow quick; do
  mkdir -p "$scratch/$name/tests"
  cat >"$scratch/$name/tests/test_$name.py" <<PY
import os, time

def test_$name():
    start = time.time()
    time.sleep(float(os.environ["SLEEP"]))
    with open(os.environ["SPANS"], "a") as out:
        out.write("%s %f %f\n" % ("$name", start, time.time()))
    assert os.environ.get("FAIL", "") != "$name", "$name was told to fail"
PY
  make_repo "$scratch/$name" >/dev/null 2>&1 || true
  git_quiet -C "$scratch/$name" add -A && git_quiet -C "$scratch/$name" commit -q -m tests
done

write_config() {  # concurrency [fail_fast]
  cat >"$scratch/gate.yaml" <<YAML
version: 1
image: {repository: $repository}
concurrency: $1
fail_fast: ${2:-false}
consumers:
  - name: slow
    repo: $scratch/slow
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
    env: {SLEEP: "3", SPANS: "$scratch/spans", FAIL: "\${FAIL}"}
  - name: quick
    repo: $scratch/quick
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
    env: {SLEEP: "1", SPANS: "$scratch/spans", FAIL: "\${FAIL}"}
YAML
}
run_gate() {  # report [env...]
  local report=$1
  shift
  rm -f "$scratch/spans"
  env FAIL= "$@" "$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$candidate" \
    --cache-dir "$scratch/cache" --report-dir "$scratch/$report" >"$scratch/$report.out" 2>"$scratch/$report.err"
}
# Whether the two tests' spans overlap (from what they wrote).
overlap() {
  python3 -c '
import sys
spans = {name: (float(a), float(b)) for name, a, b in (line.split() for line in open(sys.argv[1]))}
(a0, a1), (b0, b1) = spans["slow"], spans["quick"]
print("overlap" if a0 < b1 and b0 < a1 else "apart")' "$scratch/spans"
}
order() { json_get "$scratch/$1/verdict.json" '[(c["name"], c["status"]) for c in v["consumers"]]'; }

write_config 2
run_gate at-once
expect_eq "$?" 0 "both pass at once"
expect_eq "$(overlap)" "overlap" "with concurrency 2 the consumers ran at the same time"
expect_eq "$(order at-once)" "[('slow', 'passed'), ('quick', 'passed')]" "reported in configured order"
expect_file_contains "$scratch/at-once.err" "^\[quick\]" "each consumer's output is prefixed with its name"

write_config 1
run_gate one-by-one
expect_eq "$?" 0 "both pass one after another"
expect_eq "$(overlap)" "apart" "with concurrency 1 they did not overlap"

# A failure does not stop the other consumer...
write_config 1
run_gate failing FAIL=slow
expect_eq "$?" 1 "a failed consumer blocks"
expect_eq "$(order failing)" "[('slow', 'failed'), ('quick', 'passed')]" "the other still ran"
# ...unless fail_fast: then it is not run, and the verdict blocks.
write_config 1 true
run_gate fast FAIL=slow
expect_eq "$?" 1 "fail_fast blocks"
expect_eq "$(order fast)" "[('slow', 'failed'), ('quick', 'not-run')]" "the consumer after the failure was not run"
expect_file_contains "$scratch/fast/summary.md" "fail_fast" "the summary says why it did not run"
[ ! -s "$scratch/spans" ] || [ "$(grep -c quick "$scratch/spans")" -eq 0 ] || fail "quick ran under fail_fast"

# A bad value is a configuration error naming the line.
write_config 0
"$GATE_BIN" validate --config "$scratch/gate.yaml" >/dev/null 2>"$scratch/bad.err"
expect_eq "$?" 2 "concurrency 0 is refused"
expect_file_contains "$scratch/bad.err" "gate.yaml:3:.*concurrency must be a whole number of at least 1" "names the line"

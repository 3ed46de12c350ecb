# A breakage that shows in some runs only. The candidate makes one test
# fail on its third run (on the published image it never fails). Run once
# per test, gate cannot see it (the control); with runs_per_test: 4 the
# third run fails, the test is newly-flaky with the failure's own message,
# its 30 reruns on the published image show no failure, and the candidate
# is blocked. A test flaky on every image beside it stays flaky. When a
# test the candidate breaks for good is confirmed first, the search for
# flakiness stops there if asked (rerun_when_blocked: false): the rest is
# not rerun (fewer executions) and the verdict says so.
source "$(dirname "$0")/lib.sh"

consumer="$scratch/consumer"
mkdir -p "$consumer/tests"
cat >"$consumer/tests/test_gen.py" <<'PY'
import os

def _runs(name):
    # How often this test ran in this gate run (state outside the checkout).
    path = os.path.join(os.environ["COUNTERS"], name)
    n = int(open(path).read()) if os.path.exists(path) else 0
    open(path, "w").write(str(n + 1))
    return n + 1

def on_candidate():
    return os.environ["IMAGE_DIGEST"] == os.environ["CANDIDATE"]

def test_steady():
    pass

def test_flaky_both():
    assert _runs("flaky_both") % 2 == 0, "fails every other run, on every image"

def test_intermittent():
    n = _runs("intermittent." + ("candidate" if on_candidate() else "published"))
    assert not (on_candidate() and n == 3), "the candidate broke it on run %d" % n

def test_zbroken():
    assert not (on_candidate() and os.environ.get("BREAK_FOR_GOOD")), "the candidate broke it for good"
PY
make_repo "$consumer" >/dev/null 2>&1 || true
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m tests

published=$(build_emulator published "")
candidate=$(build_emulator candidate "")
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/build-published.yaml" --candidate "$repository@$published" >/dev/null 2>&1
expect_eq "$(tag_digest "$repository" latest)" "$published" "the published image"
[ "$candidate" != "$published" ] || fail "the candidate has the published digest"

write_config() {  # runs_per_test [rerun_when_blocked]
  cat >"$scratch/gate.yaml" <<YAML
version: 1
image: {repository: $repository, publish_tags: [latest]}
consumers:
  - name: app
    repo: $consumer
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider"]
    tests: [tests]
    baseline: true
    retries: 1
    runs_per_test: $1
    rerun_when_blocked: ${2:-true}
    env: {IMAGE_DIGEST: "\${CANDIDATE_DIGEST}", CANDIDATE: "$candidate", COUNTERS: "$scratch/counters"}
YAML
}

run_gate() {  # name [env...]
  local name=$1
  shift
  rm -rf "$scratch/counters" && mkdir -p "$scratch/counters"
  (cd "$scratch" && env "$@" "$GATE_BIN" test --config gate.yaml --candidate "$repository@$candidate" \
    --cache-dir "$scratch/cache-$name" --report-dir "report-$name" >"$scratch/$name.out" 2>&1)
}
outcome() {  # report test
  json_get "$scratch/$1/verdict.json" "[t['outcome'] for t in v['consumers'][0]['tests'] if t['name'].endswith('$2')][0]"
}

# The control: one run of each test, and the third run never comes.
write_config 1
run_gate once
expect_eq "$?" 0 "one run per test cannot see a breakage on the third run"
expect_eq "$(outcome report-once test_intermittent)" passed "run once, the intermittent test passed"

write_config 4
run_gate four
expect_eq "$?" 1 "with runs_per_test: 4 the intermittent breakage blocks"
expect_eq "$(outcome report-four test_intermittent)" newly-flaky "the intermittent test"
expect_eq "$(outcome report-four test_flaky_both)" flaky "a test flaky on every image"
expect_eq "$(outcome report-four test_steady)" passed "a steady test"
expect_eq "$(json_get "$scratch/report-four/verdict.json" "[t for t in v['consumers'][0]['tests'] if t['name'].endswith('test_intermittent')][0]['baseline']['runs']")" 30 \
  "the intermittent test's reruns on the published image"
expect_file_contains "$scratch/report-four/verdict.json" "the candidate broke it on run 3" "the failure's own message"
expect_file_contains "$scratch/four.out" "test_intermittent newly-flaky: .*the candidate broke it on run 3" "the reason on stderr"
executions_four=$(json_get "$scratch/report-four/verdict.json" "v['consumers'][0]['baseline']['extra_executions']")

# A test broken for good is confirmed first (15 reruns on the published
# image without a failure); with rerun_when_blocked: false the flaky tests
# are not rerun after that.
write_config 4 false
run_gate forgood BREAK_FOR_GOOD=1
expect_eq "$?" 1 "a test broken for good blocks"
expect_eq "$(outcome report-forgood test_zbroken)" regression "the test broken for good"
expect_eq "$(outcome report-forgood test_intermittent)" newly-flaky "the intermittent test, not rerun"
expect_file_contains "$scratch/report-forgood/verdict.json" "not rerun to look for flakiness, since the consumer blocks anyway" \
  "the verdict says which reruns were not made"
executions_forgood=$(json_get "$scratch/report-forgood/verdict.json" "v['consumers'][0]['baseline']['extra_executions']")
[ "$executions_forgood" -lt "$executions_four" ] ||
  fail "stopping at a confirmed regression costs fewer executions ($executions_forgood, without it $executions_four)"
[ -z "$(git -C "$consumer" status --porcelain)" ] || fail "gate left files in the consumer's checkout"

# The suite engine with real pytest: a consumer of 63 tests with known sleep
# durations split over 3 shards with 2 workers each (every test runs exactly
# once; a serial group never overlaps itself; workers do overlap), the
# timing store, and the classification of failures: regression (fails on
# the candidate, passes on the published image), pre-existing (fails on
# both), flaky (passes on a retry), timed-out; 100 MB of output.
source "$(dirname "$0")/lib.sh"

consumer="$scratch/consumer"
mkdir -p "$consumer/tests"
python3 - "$consumer/tests" <<'PY'
import sys, random
random.seed(7)
d = sys.argv[1]
record = '''import os, time
def record(name, start):
    with open(os.environ["SUITE_LOG"], "a") as f:
        f.write("%s %.4f %.4f %d\\n" % (name, start, time.time(), os.getpid()))
'''
open(d + "/conftest.py", "w").write(record)
for f in range(6):
    lines = ["import time", "from conftest import record", ""]
    for t in range(10):
        secs = random.choice([0.02, 0.05, 0.1, 0.1, 0.2, 0.4])
        lines += ["def test_%d_%d():" % (f, t), "    s = time.time()", "    time.sleep(%s)" % secs,
                  "    record('tests/test_gen_%d.py::test_%d_%d', s)" % (f, f, t), ""]
    open("%s/test_gen_%d.py" % (d, f), "w").write("\n".join(lines))
lines = ["import time", "from conftest import record", ""]
for t in range(3):
    lines += ["def test_home_%d():" % t, "    s = time.time()", "    time.sleep(0.3)",
              "    record('tests/test_home.py::test_home_%d', s)" % t, ""]
open(d + "/test_home.py", "w").write("\n".join(lines))
PY
make_repo "$consumer" >/dev/null 2>&1 || true
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m tests

candidate=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "${repository#$GATE_REGISTRY/}" candidate)
cat >"$scratch/gate.yaml" <<YAML
version: 1
image: {repository: $repository, publish_tags: [latest]}
consumers:
  - name: py
    repo: $consumer
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
    shards: 3
    parallel: 2
    serial_groups: ["tests/test_home.py::*"]
YAML
export SUITE_LOG="$scratch/suite.log"
for k in 1 2 3; do
  "$GATE_BIN" test --shard "$k/3" --config "$scratch/gate.yaml" --candidate "$repository@$candidate" \
    --cache-dir "$scratch/cache" --report-dir "$scratch/shard$k" >/dev/null 2>"$scratch/shard$k.err"
  expect_eq "$?" 0 "shard $k/3 exit ($(grep error "$scratch/shard$k.err" | head -3))"
done
python3 - "$SUITE_LOG" "$scratch" <<'PY' || fail "scheduling properties (see above)"
import json, sys, collections
runs = [l.split() for l in open(sys.argv[1])]
names = [r[0] for r in runs]
counts = collections.Counter(names)
problems = []
if len(counts) != 63: problems.append("%d distinct tests ran, want 63" % len(counts))
twice = [n for n, c in counts.items() if c != 1]
if twice: problems.append("ran more than once: %s" % twice[:5])
home = sorted((float(r[1]), float(r[2])) for r in runs if "test_home" in r[0])
for (s1, e1), (s2, e2) in zip(home, home[1:]):
    if s2 < e1: problems.append("the serial group overlapped itself: %s %s" % ((s1, e1), (s2, e2)))
# Which shard ran what: each verdict lists its tests; the three are disjoint and cover all.
per_shard = []
for k in (1, 2, 3):
    v = json.load(open("%s/shard%d/verdict.json" % (sys.argv[2], k)))
    c = v["consumers"][0]
    if c["shard"] != "%d/3" % k: problems.append("shard %d recorded as %r" % (k, c["shard"]))
    per_shard.append(set(t["id"] for t in c["tests"]))
if set.union(*per_shard) != set(counts) or sum(map(len, per_shard)) != 63:
    problems.append("shard verdicts do not split the 63 tests: %s" % [len(s) for s in per_shard])
home_shards = [k for k, s in enumerate(per_shard) if any("test_home" in t for t in s)]
if len(home_shards) != 1: problems.append("the serial group was split over shards %s" % home_shards)
# Two workers inside a shard: some tests of one shard overlap in time.
intervals = {r[0]: (float(r[1]), float(r[2]), r[3]) for r in runs}
overlap = False
for s in per_shard:
    iv = sorted(intervals[t] for t in s)
    for a, b in zip(iv, iv[1:]):
        if b[0] < a[1] and a[2] != b[2]: overlap = True
if not overlap: problems.append("no two tests of a shard ran at the same time (parallel: 2)")
for p in problems: print("FAIL:", p)
sys.exit(1 if problems else 0)
PY
# Each worker's busy and idle time is in the verdict.
expect_eq "$(json_get "$scratch/shard1/verdict.json" '[(w["worker"], w["batches"] > 0, w["busy_seconds"] > 0) for w in v["consumers"][0]["profile"]["workers"]]')" \
  "[(1, True, True), (2, True, True)]" "worker profile"
[ -e "$scratch/cache/timings/py.json" ] && fail "a shard wrote the timing store (the other shards would plan differently)"
# An unsharded run records every duration; shards plan from them afterwards.
sed -i 's/    shards: 3/    shards: 1/' "$scratch/gate.yaml"
"$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$candidate" \
  --cache-dir "$scratch/cache" --report-dir "$scratch/whole" >/dev/null 2>&1
expect_eq "$?" 0 "unsharded run"
[ -s "$scratch/cache/timings/py.json" ] || fail "no timing store written"
# (The store's first line is gate's MAC of the JSON lines that follow: a
# header, then one per test.)
expect_eq "$(python3 -c 'import json,sys; print(sum("seconds" in json.loads(l) for l in open(sys.argv[1]).read().split("\n")[2:] if l))' \
  "$scratch/cache/timings/py.json")" 63 "durations stored"
head -c 9 "$scratch/cache/timings/py.json" | grep -q "^gate-mac " || fail "the timing store has no MAC line"
# The plan is deterministic: shard 2 twice (with the store now filled) runs the same tests.
"$GATE_BIN" test --shard 2/3 --config "$scratch/gate.yaml" --candidate "$repository@$candidate" \
  --cache-dir "$scratch/cache" --report-dir "$scratch/shard2" >/dev/null 2>&1
"$GATE_BIN" test --shard 2/3 --config "$scratch/gate.yaml" --candidate "$repository@$candidate" \
  --cache-dir "$scratch/cache" --report-dir "$scratch/again" >/dev/null 2>&1
expect_eq "$(json_get "$scratch/again/verdict.json" 'sorted(t["id"] for t in v["consumers"][0]["tests"])')" \
  "$(json_get "$scratch/shard2/verdict.json" 'sorted(t["id"] for t in v["consumers"][0]["tests"])')" "shard 2 twice"

# Classification. A published image (latest) and a candidate; the tests know
# the published digest through GOOD_DIGEST.
published=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "${repository#$GATE_REGISTRY/}" latest)
mkdir -p "$scratch/classify/tests"
cat >"$scratch/classify/tests/test_c.py" <<'PY'
import os, time
def test_ok(): pass
def test_regression():
    assert os.environ["IMAGE_DIGEST"] == os.environ["GOOD_DIGEST"], "the candidate broke it"
def test_preexisting():
    assert False, "broken everywhere"
def test_flaky():  # on every image: fails every other run
    path = os.environ["FLAKY_FILE"]
    n = int(open(path).read()) if os.path.exists(path) else 0
    open(path, "w").write(str(n + 1))
    assert n % 2 == 1, "fails every other run"
def test_newly_flaky():  # fails once, on the candidate only
    path = os.environ["FLAKY_FILE"] + ".new"
    if os.environ["IMAGE_DIGEST"] != os.environ["GOOD_DIGEST"] and not os.path.exists(path):
        open(path, "w").write("1")
        assert False, "the candidate made it fail once"
def test_loud():
    for _ in range(100):
        print("x" * 1000000)
PY
# Two tests that share state (a serial group): side by side they fail. The
# candidate breaks both; replayed side by side on the baseline they would
# fail there too and pass for pre-existing.
cat >"$scratch/classify/tests/test_shared.py" <<'PY'
import os, time
def _exclusive():
    lock = os.environ["SHARED_LOCK"]
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        assert False, "ran beside the other test of its serial group"
    time.sleep(0.5)
    os.close(fd)
    os.unlink(lock)
    assert os.environ["IMAGE_DIGEST"] == os.environ["GOOD_DIGEST"], "the candidate broke it"
def test_shared_a(): _exclusive()
def test_shared_b(): _exclusive()
PY
# The hung test leaves a process and a container of the candidate behind it.
cat >"$scratch/classify/tests/test_hang.py" <<PY
import os, subprocess, time
def test_hang():
    subprocess.run(["docker", "run", "--detach", "--label", "gate-e2e-hang=$$", os.environ["IMAGE_REF"]],
                   check=True, capture_output=True)
    subprocess.Popen(["sleep", "10$$"])
    time.sleep(1000)
def test_after(): pass
PY
make_repo "$scratch/classify" >/dev/null 2>&1 || true
git_quiet -C "$scratch/classify" add -A && git_quiet -C "$scratch/classify" commit -q -m c
cat >"$scratch/classify.yaml" <<YAML
version: 1
image: {repository: $repository, publish_tags: [latest]}
consumers:
  - name: cls
    repo: $scratch/classify
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
    parallel: 2
    retries: 1
    baseline: true
    test_timeout: 6s
    env: {IMAGE_DIGEST: "\${CANDIDATE_DIGEST}", IMAGE_REF: "\${CANDIDATE_REF}"}
YAML
# A candidate that can run (the demo emulator), so the hung test can start it.
write_demo_config v1
candidate=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/demo-build" 2>/dev/null)
candidate=${candidate##*@}
export GOOD_DIGEST="$published" FLAKY_FILE="$scratch/flaky.count" SHARED_LOCK="$scratch/shared.lock"
"$GATE_BIN" test --config "$scratch/classify.yaml" --candidate "$repository@$candidate" \
  --cache-dir "$scratch/cache" --report-dir "$scratch/cls" >/dev/null 2>"$scratch/cls.err"
expect_eq "$?" 1 "a regression blocks"
outcomes=$(json_get "$scratch/cls/verdict.json" 'sorted((t["id"].split("::")[1], t["outcome"]) for t in v["consumers"][0]["tests"])')
expect_eq "$outcomes" "[('test_after', 'passed'), ('test_flaky', 'flaky'), ('test_hang', 'timed-out'), ('test_loud', 'passed'), ('test_newly_flaky', 'newly-flaky'), ('test_ok', 'passed'), ('test_preexisting', 'pre-existing'), ('test_regression', 'regression'), ('test_shared_a', 'regression'), ('test_shared_b', 'regression')]" "outcomes"
# The serial group alone, on two workers, no retries (nothing to hide behind):
# its replay on the baseline keeps it one at a time, so neither failure is
# excused by the other's side effect.
cat >"$scratch/shared.yaml" <<YAML
version: 1
image: {repository: $repository, publish_tags: [latest]}
consumers:
  - name: shared
    repo: $scratch/classify
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests/test_shared.py]
    parallel: 2
    baseline: true
    max_pre_existing: 100%
    serial_groups: ["tests/test_shared.py::*"]
    env: {IMAGE_DIGEST: "\${CANDIDATE_DIGEST}"}
YAML
"$GATE_BIN" test --config "$scratch/shared.yaml" --candidate "$repository@$candidate" \
  --cache-dir "$scratch/cache" --report-dir "$scratch/shared" >/dev/null 2>&1
expect_eq "$(json_get "$scratch/shared/verdict.json" '[t["outcome"] for t in v["consumers"][0]["tests"]]')" "['regression', 'regression']" \
  "a serial group replayed one at a time on the baseline"
# The evidence behind them: flaky on both images in the confirmation reruns;
# the baseline rerun bound to the published digest.
expect_eq "$(json_get "$scratch/cls/verdict.json" '[(t["confirm"], t["baseline"]) for t in v["consumers"][0]["tests"] if t["id"].endswith("::test_flaky")][0]')" \
  "({'failures': 2, 'runs': 3}, {'failures': 1, 'runs': 2})" "test_flaky: 3 confirmation reruns on the candidate; on the baseline, reruns until it failed there"
expect_eq "$(json_get "$scratch/cls/verdict.json" '[(t["confirm"]["failures"], t["baseline"]["failures"]) for t in v["consumers"][0]["tests"] if t["id"].endswith("::test_newly_flaky")][0]')" \
  "(0, 0)" "test_newly_flaky failed once, on the candidate only"
# (The hung test blocks whatever the rest is: no reruns look for flakiness
# behind the tests that failed on the candidate every time, so there is no
# rerun on the candidate either.)
expect_eq "$(json_get "$scratch/cls/verdict.json" '(v["consumers"][0]["baseline"]["status"], v["consumers"][0]["baseline"]["digest"], [(p["role"], p["digest"], p["worktree"]) for p in v["consumers"][0]["phases"]])')" \
  "('used', '$published', [('candidate', '$candidate', 'checkout'), ('baseline', '$published', 'fresh')])" "the baseline phase"
expect_eq "$(json_get "$scratch/cls/verdict.json" '[t["baseline"]["runs"] for t in v["consumers"][0]["tests"] if t["id"].endswith("::test_regression")][0]')" 1 \
  "a regression beside a timed-out test: its replay only (it passed there)"
expect_file_contains "$scratch/cls/summary.md" "test_regression" "summary names the regression"
expect_file_contains "$scratch/cls.err" "test_preexisting is pre-existing (policy: warn)" "pre-existing warns"
pgrep -f "sleep 10$$" >/dev/null && fail "the hung test's process was left behind"
[ -z "$(docker ps --all --quiet --filter "label=gate-e2e-hang=$$")" ] || fail "the hung test's container was left behind"
expect_eq "$(json_get "$scratch/cls/verdict.json" 'len(v["consumers"][0]["containers_removed"])')" 1 "the gate removed it"
xmllint --noout --schema "$GATE_SCHEMA_DIR/junit-10.xsd" "$scratch/cls/junit.xml" 2>/dev/null || fail "junit.xml invalid"

# Policy: regressions and timeouts only warn -> passes with warnings.
printf 'policy: {regression: warn, timed-out: warn, newly-flaky: warn}\n' >>"$scratch/classify.yaml"
rm -f "$FLAKY_FILE" "$FLAKY_FILE.new"
"$GATE_BIN" test --config "$scratch/classify.yaml" --candidate "$repository@$candidate" \
  --cache-dir "$scratch/cache" --report-dir "$scratch/warn" >/dev/null 2>&1
expect_eq "$?" 0 "the same run under a warn-only policy"

# Without a published image every failure is a regression.
sed -i 's/publish_tags: \[latest\]/publish_tags: [never-published]/; /^policy:/d' "$scratch/classify.yaml"
rm -f "$FLAKY_FILE" "$FLAKY_FILE.new"
"$GATE_BIN" test --config "$scratch/classify.yaml" --candidate "$repository@$candidate" \
  --cache-dir "$scratch/cache" --report-dir "$scratch/nobase" >/dev/null 2>&1
expect_eq "$(json_get "$scratch/nobase/verdict.json" '[t["outcome"] for t in v["consumers"][0]["tests"] if t["id"].endswith("test_preexisting")][0]')" \
  regression "no baseline: a failure is a regression"

# A selection that holds no test: never green.
sed -i 's/tests: \[tests\]/tests: [tests\/test_c.py::no_such_test]/' "$scratch/classify.yaml"
"$GATE_BIN" test --config "$scratch/classify.yaml" --candidate "$repository@$candidate" \
  --cache-dir "$scratch/cache" --report-dir "$scratch/none" >/dev/null 2>"$scratch/none.err"
rc=$?
[ "$rc" = 1 ] || [ "$rc" = 3 ] || fail "an empty selection exited $rc"
grep -q "passed" <<<"$(json_get "$scratch/none/verdict.json" 'v["decision"]["verdict"]')" && fail "an empty selection passed"
true

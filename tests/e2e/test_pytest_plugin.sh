# runner: pytest through gate's plugin, on consumers that make it hard:
#  - the listing is kept: an unchanged consumer is collected once, not per run;
#  - the plugin's bytecode is kept beside it (PYTHONDONTWRITEBYTECODE set);
#  - a test that appears without a new commit (parametrized from the
#    environment) still runs: the batch's collection contradicts the kept
#    listing, and gate lists again (never a test left out);
#  - a collection that differs on every run is an error, never green;
#  - outcomes from the plugin's events: xfail, strict xpass, a failing
#    setup or teardown, a skip with its reason, a failure's own message;
#  - a test that kills its pytest process is that test's error, and the
#    tests after it still run; an import error names the module;
#  - pytest's rootdir below the worktree (node ids relative to it): batches
#    collect only their own files, and agree with the listing.
source "$(dirname "$0")/lib.sh"

candidate=$(python3 "$GATE_SOURCE_DIR/tests/tools/oci.py" push-image "$GATE_REGISTRY" "${repository#*/}" candidate)
consumer="$scratch/consumer"
mkdir -p "$consumer/tests" "$consumer/sub/pkg/tests"
cat >"$consumer/tests/conftest.py" <<'PY'
import os, sys

def pytest_configure(config):
    # Counts the listings gate asks for (a run with --collect-only).
    if "--collect-only" in sys.argv:
        with open(os.environ["LISTINGS"], "a") as out:
            out.write("listed\n")
PY
cat >"$consumer/tests/test_cases.py" <<'PY'
import os, pytest

@pytest.mark.parametrize("n", range(int(os.environ.get("CASES", "3"))))
def test_case(n):
    assert n != int(os.environ.get("BROKEN_CASE", "-1")), "case %d broke" % n
PY
cat >"$consumer/tests/test_outcomes.py" <<'PY'
import os, signal, pytest

@pytest.fixture
def broken_setup():
    raise RuntimeError("setup broke")

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown broke")

def test_a_fails():
    assert 1 == 2, "one is not two"

@pytest.mark.xfail(reason="known")
def test_b_xfail():
    assert False

@pytest.mark.xfail(strict=True, reason="should fail")
def test_c_xpass_strict():
    pass

def test_d_setup(broken_setup):
    pass

def test_e_teardown(broken_teardown):
    pass

@pytest.mark.skip(reason="not here")
def test_f_skip():
    pass

def test_g_dies():
    if os.environ.get("KILL_ONE"):
        os.kill(os.getpid(), signal.SIGKILL)

def test_h_after_the_death():
    pass
PY
printf '[pytest]\n' >"$consumer/sub/pytest.ini"
for f in 1 2 3; do
  printf 'def test_%d_a():\n    pass\n\ndef test_%d_b():\n    pass\n' "$f" "$f" >"$consumer/sub/pkg/tests/test_f$f.py"
done
make_repo "$consumer" >/dev/null 2>&1 || true
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m tests

write_config() {  # name tests [parallel]
  cat >"$scratch/$1.yaml" <<YAML
version: 1
image: {repository: $repository}
consumers:
  - name: $1
    repo: $consumer
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [$2]
    parallel: ${3:-1}
    env: {CASES: "\${CASES}", LISTINGS: "$scratch/listings", BROKEN_CASE: "\${BROKEN_CASE}", KILL_ONE: "\${KILL_ONE}"}
YAML
}
run_gate() {  # config report [env...]
  local config=$1 report=$2
  shift 2
  env CASES=3 BROKEN_CASE=-1 KILL_ONE= "$@" "$GATE_BIN" test --config "$scratch/$config.yaml" \
    --candidate "$repository@$candidate" --cache-dir "$scratch/cache" --report-dir "$scratch/$report" \
    >"$scratch/$report.out" 2>"$scratch/$report.err"
}
tests_of() {  # report
  json_get "$scratch/$1/verdict.json" "sorted(t['id'] for t in v['consumers'][0]['tests'])"
}

# The listing is kept: the second run of an unchanged consumer lists nothing.
write_config cases tests/test_cases.py
run_gate cases first PYTHONDONTWRITEBYTECODE=1
expect_eq "$?" 0 "three cases pass"
# pytest compiles only the loader: the plugin keeps its bytecode beside it,
# where Python itself would write none, and the next import reads it.
plugin_dir="$scratch/first/batches/cases/candidate/gate-pytest"
ls "$plugin_dir"/__pycache__/gate_pytest.*.pyc >/dev/null 2>&1 || fail "the plugin's bytecode was not kept"
imported=$(PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$plugin_dir" /usr/bin/python3 -v -c 'import gate_pytest' 2>&1)
grep -q "code object from .*__pycache__/gate_pytest" <<<"$imported" || fail "the plugin's kept bytecode is not what Python loads"
run_gate cases second
expect_eq "$?" 0 "again, from the kept listing"
expect_eq "$(wc -l <"$scratch/listings")" 1 "one listing for two runs"
expect_eq "$(json_get "$scratch/second/verdict.json" 'len(v["consumers"][0]["tests"])')" 3 "three tests reported"
! grep -q "listing the tests again" "$scratch/second.err" || fail "the kept listing was right, yet gate listed again"

# A fourth case appears, same commit: it runs (and breaks), though the kept listing had three.
run_gate cases fourth CASES=4 BROKEN_CASE=3
expect_eq "$?" 1 "the new, broken case blocks"
expect_file_contains "$scratch/fourth.err" "collected other tests than were listed (collected, not listed: tests/test_cases.py::test_case\[3\])" "the contradiction, named"
expect_file_contains "$scratch/fourth.err" "listing the tests again" "gate lists again"
expect_eq "$(json_get "$scratch/fourth/verdict.json" '[(t["id"], t["status"]) for t in v["consumers"][0]["tests"] if t["status"] != "passed"]')" \
  "[('tests/test_cases.py::test_case[3]', 'failed')]" "the case the kept listing did not have ran"

# Two cases disappear, same commit: the kept listing (four) is contradicted
# too, the run is of what exists, not of what was listed, and a test the
# last passing run had (case 2) is missing: it blocks.
run_gate cases fewer CASES=2
expect_eq "$?" 1 "a case gone at the same commit blocks"
expect_file_contains "$scratch/fewer.err" "reported did not run: tests/test_cases.py::test_case\[2\] (missing)" "as missing"
expect_file_contains "$scratch/fewer.err" "collected other tests than were listed (listed, not collected: tests/test_cases.py::test_case\[2\])" "the vanished case, named"
expect_eq "$(tests_of fewer)" "['tests/test_cases.py::test_case[0]', 'tests/test_cases.py::test_case[1]']" "only what is collected now"

# A collection that differs on every run.
cat >"$consumer/tests/test_random.py" <<'PY'
import uuid, pytest

@pytest.mark.parametrize("token", [uuid.uuid4().hex])
def test_random(token):
    pass
PY
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m random
write_config random tests/test_random.py
run_gate random random
rc=$?
[ "$rc" -ne 0 ] || fail "a collection that changes on every run passed"
expect_file_contains "$scratch/random.err" "differ from one pytest run to the next" "says why"

# Outcomes from the events, a test that kills pytest, the tests after it.
write_config outcomes tests/test_outcomes.py
run_gate outcomes outcomes KILL_ONE=1
expect_eq "$?" 1 "failures block"
statuses=$(json_get "$scratch/outcomes/verdict.json" '[(t["id"].split("::")[1], t["status"]) for t in v["consumers"][0]["tests"]]')
expect_eq "$statuses" "[('test_a_fails', 'failed'), ('test_b_xfail', 'skipped'), ('test_c_xpass_strict', 'failed'), ('test_d_setup', 'error'), ('test_e_teardown', 'error'), ('test_f_skip', 'skipped'), ('test_g_dies', 'error'), ('test_h_after_the_death', 'passed')]" "each outcome"
messages=$(json_get "$scratch/outcomes/verdict.json" '{t["id"].split("::")[1]: t.get("message", "") for t in v["consumers"][0]["tests"]}')
for want in "one is not two" "setup broke" "teardown broke" "not here" "the test process ended while this test ran (killed by signal 9"; do
  case "$messages" in *"$want"*) ;; *) fail "the messages lack '$want': $messages" ;; esac
done
pgrep -f -- "--gate-select=$scratch" >/dev/null && fail "a pytest process was left behind"

# An import error names the module.
printf 'import no_such_module\n\ndef test_x():\n    pass\n' >"$consumer/tests/test_broken_import.py"
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m broken
write_config imports tests/test_broken_import.py
run_gate imports imports
[ "$?" -ne 0 ] || fail "an import error passed"
expect_file_contains "$scratch/imports.err" "could not collect tests/test_broken_import.py" "the module is named"

# rootdir below the worktree; two workers, batches of their own files.
write_config sub sub/pkg/tests 2
run_gate sub sub
expect_eq "$?" 0 "node ids relative to sub/ pass"
run_gate sub sub-again
expect_eq "$?" 0 "and again from the kept listing"
expect_eq "$(tests_of sub-again)" "['pkg/tests/test_f1.py::test_1_a', 'pkg/tests/test_f1.py::test_1_b', 'pkg/tests/test_f2.py::test_2_a', 'pkg/tests/test_f2.py::test_2_b', 'pkg/tests/test_f3.py::test_3_a', 'pkg/tests/test_f3.py::test_3_b']" "every test, by its id under sub/"
! grep -q "listing the tests again" "$scratch/sub-again.err" || fail "narrowed batches disagreed with the listing"

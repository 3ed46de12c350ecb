# A batch whose every test passed, but whose process did not end as the
# tool ends after passing tests, is red, as it would be run by hand:
#  - pytest killed by a signal on its way out (a finalizer of the garbage a
#    test left, run as Python exits);
#  - a pytest session failed by a hook after its tests (as a plugin's
#    coverage threshold does);
#  - a pytest kept alive after its last test (a thread that never ends),
#    stopped at test_timeout;
#  - go: a TestMain that exits 3 after its tests passed (a leak check);
#  - ctest: a test whose program is missing ("Not Run", ctest exits 8) is an
#    error, a test that skips itself (SKIP_RETURN_CODE, exit 0) is skipped.
# And gate's quicker exit for pytest (the garbage collected once, the rest
# frozen) keeps what Python's exit does: the tests' exit functions run, the
# garbage's finalizers run, and the freeze comes after both.
source "$(dirname "$0")/lib.sh"

candidate=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "${repository#$GATE_REGISTRY/}" candidate)

# --- pytest ---
consumer="$scratch/py"
mkdir -p "$consumer/tests" "$scratch/site"
cat >"$consumer/tests/conftest.py" <<'PY'
import os

def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("FAIL_SESSION"):
        session.exitstatus = 3
PY
cat >"$consumer/tests/test_exit.py" <<'PY'
import atexit, gc, os, threading, time

def _note(text, _open=open, mark=os.environ.get("MARK")):
    if mark:
        with _open(mark, "a") as out:
            out.write(text + "\n")

class Garbage:
    """A reference cycle: only a collection frees it, and runs __del__."""
    def __init__(self):
        self.me = self

    def __del__(self, abort=os.abort, crash=os.environ.get("CRASH_AT_EXIT"), note=_note):
        if crash:
            abort()
        note("finalized")

def test_leaves_garbage():
    gc.disable()  # no collection before the exit's own
    Garbage()

def test_registers_an_exit_function():
    atexit.register(_note, "exit function")

def test_may_leave_a_thread():
    if os.environ.get("HANG_AT_EXIT"):
        threading.Thread(target=time.sleep, args=(3600,)).start()  # Python waits for it at exit
PY
# Registered before gate's plugin is loaded, so it runs after gate's exit function.
cat >"$scratch/site/sitecustomize.py" <<'PY'
import atexit, gc, os

def _after():
    mark = os.environ.get("MARK")
    if mark:
        with open(mark, "a") as out:
            out.write("frozen %d\n" % (gc.get_freeze_count() > 0))

atexit.register(_after)
PY
make_repo "$consumer" >/dev/null 2>&1 || true
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m tests
cat >"$scratch/py.yaml" <<YAML
version: 1
image: {repository: $repository}
consumers:
  - name: py
    repo: $consumer
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
    test_timeout: 3s
    env: {MARK: "\${MARK}", CRASH_AT_EXIT: "\${CRASH_AT_EXIT}", FAIL_SESSION: "\${FAIL_SESSION}",
          HANG_AT_EXIT: "\${HANG_AT_EXIT}", PYTHONPATH: "$scratch/site"}
YAML
run_py() {  # report [env...]
  local report=$1
  shift
  rm -f "$scratch/mark"
  env MARK="$scratch/mark" CRASH_AT_EXIT= FAIL_SESSION= HANG_AT_EXIT= "$@" "$GATE_BIN" test --config "$scratch/py.yaml" \
    --candidate "$repository@$candidate" --cache-dir "$scratch/cache" --report-dir "$scratch/$report" \
    >"$scratch/$report.out" 2>"$scratch/$report.err"
}
by_hand() {  # [env...]: pytest's exit status, run by hand in the consumer
  by_hand_within 600 "$@"
}
by_hand_within() {  # seconds [env...]: the same, 124 when it has not ended by then
  local seconds=$1
  shift
  (cd "$consumer" && env MARK= PYTHONPATH= "$@" timeout "$seconds" /usr/bin/python3 -m pytest -q \
    -p no:cacheprovider tests >/dev/null 2>&1
    echo "$?") 2>/dev/null
}

run_py green
expect_eq "$?" 0 "the tests pass and pytest exits 0"
# (The listing, pytest --collect-only, ends the same way: its "frozen 1" first.)
expect_eq "$(tr '\n' ' ' <"$scratch/mark")" "frozen 1 exit function finalized frozen 1 " \
  "the tests' exit function ran, then the garbage's finalizer, then the freeze"

expect_eq "$(by_hand CRASH_AT_EXIT=1)" 134 "by hand, pytest is killed by SIGABRT on its way out"
run_py crash CRASH_AT_EXIT=1
expect_eq "$?" 1 "a pytest killed on its way out blocks"
expect_file_contains "$scratch/crash.err" "pytest killed by signal 6 (Aborted) after every test of the batch had finished" "says how it ended"
expect_eq "$(json_get "$scratch/crash/verdict.json" 'v["consumers"][0]["status"]')" failed "the consumer failed"
expect_eq "$(json_get "$scratch/crash/verdict.json" 'sorted(t["status"] for t in v["consumers"][0]["tests"])')" \
  "['passed', 'passed', 'passed']" "though each test passed"
grep -q "recorded the verification" "$scratch/crash.err" && fail "a verification was recorded for a red run"

expect_eq "$(by_hand FAIL_SESSION=1)" 3 "by hand, the session's hook makes pytest exit 3"
run_py session FAIL_SESSION=1
expect_eq "$?" 1 "a session failed after its tests blocks"
expect_file_contains "$scratch/session.err" "pytest exit 3 after every test of the batch had finished" "says so"

expect_eq "$(by_hand_within 8 HANG_AT_EXIT=1)" 124 "by hand, pytest does not end after its last test"
run_py hang HANG_AT_EXIT=1
expect_eq "$?" 1 "a pytest that does not end after its last test blocks"
expect_file_contains "$scratch/hang.err" "pytest had not ended a test_timeout after its last test finished" "says so"
pgrep -f -- "--gate-select=$scratch/hang/" >/dev/null && fail "the pytest kept alive was left behind"

# --- go ---
gomod="$scratch/go"
mkdir -p "$gomod/leak"
printf 'module example.com/leak\n\ngo 1.19\n' >"$gomod/go.mod"
cat >"$gomod/leak/leak_test.go" <<'GO'
package leak

import (
	"fmt"
	"os"
	"testing"
)

var ran bool

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && ran && os.Getenv("FAIL_AFTER") != "" {
		fmt.Println("leak check: 1 goroutine still running")
		os.Exit(3)
	}
	os.Exit(code)
}

func TestFine(t *testing.T) { ran = true }
GO
make_repo "$gomod" >/dev/null 2>&1 || true
git_quiet -C "$gomod" add -A && git_quiet -C "$gomod" commit -q -m go
export GOCACHE="$scratch/gocache" GOPATH="$scratch/gopath" GOFLAGS=-mod=mod
cat >"$scratch/go.yaml" <<YAML
version: 1
image: {repository: $repository}
consumers:
  - {name: go, repo: $gomod, runner: go, run: [/usr/bin/go], tests: ["./..."], env: {FAIL_AFTER: "\${FAIL_AFTER}"}}
YAML
FAIL_AFTER= "$GATE_BIN" test --config "$scratch/go.yaml" --candidate "$repository@$candidate" \
  --cache-dir "$scratch/cache" --report-dir "$scratch/go-green" >/dev/null 2>"$scratch/go-green.err"
expect_eq "$?" 0 "the Go test passes"
FAIL_AFTER=1 "$GATE_BIN" test --config "$scratch/go.yaml" --candidate "$repository@$candidate" \
  --cache-dir "$scratch/cache" --report-dir "$scratch/go-red" >/dev/null 2>"$scratch/go-red.err"
expect_eq "$?" 1 "a TestMain that fails after its tests blocks"
expect_file_contains "$scratch/go-red.err" "go test (example.com/leak/leak) exit 1 after every test of the batch had finished" "says so"
expect_eq "$(json_get "$scratch/go-red/verdict.json" '[t["status"] for t in v["consumers"][0]["tests"]]')" "['passed']" \
  "though the test passed"

# --- ctest ---
native="$scratch/native"
mkdir -p "$native"
cat >"$native/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(native NONE)
enable_testing()
add_test(NAME fine COMMAND true)
add_test(NAME skips COMMAND sh -c "exit 4")
set_tests_properties(skips PROPERTIES SKIP_RETURN_CODE 4)
if(NOT "$ENV{MISSING_PROGRAM}" STREQUAL "")
  add_test(NAME gone COMMAND /no/such/program)
endif()
CMAKE
make_repo "$native" >/dev/null 2>&1 || true
git_quiet -C "$native" add -A && git_quiet -C "$native" commit -q -m ctest
cat >"$scratch/ctest.yaml" <<YAML
version: 1
image: {repository: $repository}
consumers:
  - name: native
    repo: $native
    setup: "cmake -S . -B build >/dev/null"
    runner: ctest
    env: {MISSING_PROGRAM: "\${MISSING_PROGRAM}"}
YAML
run_ctest() {  # report [env...]
  local report=$1
  shift
  env MISSING_PROGRAM= "$@" "$GATE_BIN" test --config "$scratch/ctest.yaml" --candidate "$repository@$candidate" \
    --cache-dir "$scratch/cache-$report" --report-dir "$scratch/$report" >/dev/null 2>"$scratch/$report.err"
}
ctest_outcomes() {  # report
  json_get "$scratch/$1/verdict.json" '" ".join(sorted(t["id"] + "=" + t["status"] for t in v["consumers"][0]["tests"]))'
}
run_ctest ctest-green
expect_eq "$?" 0 "a test that skips itself does not block"
expect_eq "$(ctest_outcomes ctest-green)" "fine=passed skips=skipped" "it is skipped, not failed"
(cd "$native" && MISSING_PROGRAM=1 cmake -S . -B "$scratch/native-build" >/dev/null 2>&1 &&
  ctest --test-dir "$scratch/native-build" >/dev/null 2>&1)
expect_eq "$?" 8 "by hand, ctest fails on a test it could not run"
run_ctest ctest-missing MISSING_PROGRAM=1
expect_eq "$?" 1 "a test ctest could not run blocks"
expect_eq "$(ctest_outcomes ctest-missing)" "fine=passed gone=error skips=skipped" "it is an error"
expect_file_contains "$scratch/ctest-missing/summary.md" "ctest: not run" "says why"
true

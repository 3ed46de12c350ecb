# A sound verdict: the baseline rerun is a faithful replay against the
# published digest, or it excuses nothing. A consumer whose pytest suite
# writes and reads through a service started from the candidate (the demo
# emulator, FROM scratch), a published good image, and candidates that are
# good, break every write, or break one command. Then consumers that start
# the candidate themselves (by ${CANDIDATE_REF}, or by a hard-coded tag), no
# published image, baseline services never ready, a baseline that times
# out, a candidate that is the published image, and max_pre_existing.
# Everything with the default (relative) report directory.
source "$(dirname "$0")/lib.sh"

consumer="$scratch/consumer"
mkdir -p "$consumer/tests"
cat >"$consumer/tests/emu.py" <<'PY'
import json, os, urllib.error, urllib.request

def call(url, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, None

def create(url, name):
    status, item = call(url, "POST", "/items", {"name": name})
    assert status == 201, "create %s answered %s" % (name, status)
    return item
PY
cat >"$consumer/tests/test_items.py" <<'PY'
import os, time
from emu import call, create
URL = os.environ.get("EMU_URL", "")

def test_health():
    assert call(URL, "GET", "/health")[0] == 200

def test_create():
    create(URL, "a")

def test_create_once():
    # Leaves a file behind: a rerun in the same worktree would fail for that.
    assert not os.path.exists("created.marker"), "a previous run left created.marker"
    open("created.marker", "w").write("x")
    create(URL, "once")

def test_read_back():
    item = create(URL, "b")
    status, got = call(URL, "GET", "/items/" + item["id"])
    assert status == 200 and got["name"] == "b", "read back answered %s" % status

def test_list():
    create(URL, "c")
    status, body = call(URL, "GET", "/items")
    assert status == 200 and any(i["name"] == "c" for i in body["items"]), "list answered %s" % status

def test_delete():
    item = create(URL, "d")
    status, _ = call(URL, "DELETE", "/items/" + item["id"])
    assert status == 204, "delete answered %s" % status

def test_missing_is_404():
    assert call(URL, "GET", "/items/nope")[0] == 404

def test_known_bug():
    # The consumer's own bug: fails against every image.
    status, body = call(URL, "GET", "/items/nope")
    assert body == {"error": "missing"}, "expects an error text the emulator never had"

def test_sleep_half_second():
    time.sleep(0.5)

def test_zz_listing():
    # What the checkout holds while the tests run (gate must add nothing).
    names = []
    for top, dirs, files in os.walk("."):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        names += [os.path.join(top, f)[2:] for f in files]
    open(os.environ["LISTING"], "w").write("\n".join(sorted(names)) + "\n")
PY
cat >"$consumer/tests/test_selfstart.py" <<'PY'
import os, subprocess, time, urllib.request
from emu import create

def test_create_in_own_container():
    # Starts the image itself, as some consumers do.
    cid = subprocess.run(["docker", "run", "--detach", "--publish", "127.0.0.1::8080", os.environ["EMU_IMAGE"]],
                         check=True, capture_output=True, text=True).stdout.strip()
    try:
        port = subprocess.run(["docker", "port", cid, "8080/tcp"], check=True, capture_output=True,
                              text=True).stdout.split(":")[-1].strip()
        url = "http://127.0.0.1:" + port
        for _ in range(50):
            try:
                urllib.request.urlopen(url + "/health", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        create(url, "self")
    finally:
        subprocess.run(["docker", "rm", "--force", cid], capture_output=True)
PY
cat >"$consumer/tests/test_slow.py" <<'PY'
import os, time

def test_slow_on_published():
    # Fails everywhere, but hangs on the published image (a baseline that times out).
    if os.environ["EMU_DIGEST"] == os.environ["PUBLISHED"]:
        time.sleep(60)
    assert False, "fails everywhere"
PY
cat >"$consumer/tests/test_legacy.py" <<'PY'
def test_a(): assert False, "legacy a"
def test_b(): assert False, "legacy b"
def test_c(): assert False, "legacy c"
def test_d(): pass
PY
cat >"$consumer/tests/test_flaky.py" <<'PY'
import os

def test_fails_once():
    # Fails on its first run of a gate run, passes after (state outside the checkout).
    state = os.environ["FLAKY_STATE"]
    if not os.path.exists(state):
        open(state, "w").close()
        assert False, "first run fails"
PY
make_repo "$consumer" >/dev/null 2>&1 || true
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m tests

# Images: the good one is published as latest; candidates are other revisions.
published=$(build_emulator good "")
good=$(build_emulator good2 "")
writes=$(build_emulator writes writes)
delete=$(build_emulator delete delete)
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/build-good.yaml" --candidate "$repository@$published" >/dev/null 2>&1
expect_eq "$(tag_digest "$repository" latest)" "$published" "the good image is published"
for d in "$good" "$writes" "$delete"; do [ "$d" != "$published" ] || fail "a candidate has the published digest"; done

# consumers.yaml: EXTRA as the consumers' list; TAGS the publish tags.
write_config() {  # file tags consumers-yaml
  cat >"$1" <<YAML
version: 1
image: {repository: $repository, publish_tags: $2}
consumers:
$3
YAML
}
pytest_consumer() {  # name tests [extra lines]: a consumer of the repository's pytest files, with a baseline
  cat <<YAML
  - name: $1
    repo: $consumer
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [$2]
    baseline: true
${3:-}
YAML
}
items_consumer() {  # name [extra lines] [ready lines]: the items tests, through the service db
  local ready="        ready: {tcp: 8080}"
  [ -n "${3:-}" ] && ready=$3
  pytest_consumer "$1" tests/test_items.py "    retries: 1
    services:
      - name: db
        ports: [8080]
$ready
    env: {EMU_URL: \"http://\${SERVICE_DB_HOST}:\${SERVICE_DB_PORT}\", LISTING: \"$scratch/listing-$1.txt\"}
${2:-}"
}
selfstart_consumer() {  # name image-template: a test that starts the image itself
  pytest_consumer "$1" tests/test_selfstart.py "    env: {EMU_IMAGE: \"$2\"}"
}
write_config "$scratch/gate.yaml" "[latest]" "$(items_consumer items; selfstart_consumer self '${CANDIDATE_REF}')"

# gate is run from $scratch with the default report directory (gate-report, relative).
run_gate() {  # label config candidate-digest [args...]
  local label=$1 config=$2 digest=$3
  shift 3
  rm -rf "$scratch/run-$label" && mkdir -p "$scratch/run-$label"
  (cd "$scratch/run-$label" && "$GATE_BIN" test --config "$config" --candidate "$repository@$digest" \
    --cache-dir "${cache:-$scratch/cache}" "$@" >/dev/null 2>"$scratch/run-$label/err")
  rc=$?
  verdict="$scratch/run-$label/gate-report/verdict.json"
}
outcomes() {  # consumer -> "test:outcome ..." of the tests that did not pass
  json_get "$verdict" "' '.join(sorted(t['name'].split('::')[-1] + ':' + t['outcome'] for c in v['consumers'] if c['name'] == '$1' for t in c['tests'] if t['outcome'] != 'passed'))"
}
phase_services() {  # consumer -> "role:image ..." of every service of the candidate's and the baseline's phase
  json_get "$verdict" "' '.join(p['role'] + ':' + s['image'] for c in v['consumers'] if c['name'] == '$1' for p in c['phases'] if p['role'] in ('candidate', 'baseline') for s in p['services'])"
}

# 1. A good candidate passes; the consumer's own bug is pre-existing, seen
#    so by a baseline whose service ran from the published digest.
run_gate good "$scratch/gate.yaml" "$good" --consumer items
expect_eq "$rc" 0 "a good candidate passes ($(grep -m3 'error' "$scratch/run-good/err"))"
expect_eq "$(outcomes items)" "test_known_bug:pre-existing" "the good candidate's outcomes"
expect_eq "$(phase_services items)" "candidate:$repository@$good baseline:$repository@$published" "services per phase"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["baseline"]["status"]')" used "baseline used"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["baseline"]["pre_existing_new"]')" "['tests/test_items.py::test_known_bug']" \
  "a pre-existing failure not seen before is listed as new"
# Per-test seconds and messages with the relative report directory; gate
# wrote nothing into the consumer's checkout.
expect_seconds_near "$verdict" 't["name"].endswith("test_sleep_half_second")' 0.5 "per-test seconds"
expect_eq "$(json_get "$verdict" '[t.get("message", "").splitlines()[0] for t in v["consumers"][0]["tests"] if t["name"].endswith("test_known_bug")][0]')" \
  "AssertionError: expects an error text the emulator never had" "the failure's message"
expect_eq "$(tr '\n' ' ' <"$scratch/listing-items.txt")" "created.marker first.txt tests/emu.py tests/test_flaky.py tests/test_items.py tests/test_legacy.py tests/test_selfstart.py tests/test_slow.py " \
  "the checkout holds the consumer's files and what its tests wrote, nothing of gate's"
[ -e "$scratch/run-good/gate-report/junit.xml" ] || fail "no junit.xml in the default report directory"
# The same known bug again: now seen before. (A report directory with a space in it.)
run_gate good-again "$scratch/gate.yaml" "$good" --consumer items --report-dir "with space/r"
verdict="$scratch/run-good-again/with space/r/verdict.json"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["baseline"]["pre_existing_known"]')" "['tests/test_items.py::test_known_bug']" \
  "a pre-existing failure of the last passing run is listed as seen before"
expect_seconds_near "$verdict" 't["name"].endswith("test_sleep_half_second")' 0.5 "per-test seconds with a space in the report directory"
expect_eq "$(json_get "$verdict" '[t.get("message", "").splitlines()[0] for t in v["consumers"][0]["tests"] if t["name"].endswith("test_known_bug")][0]')" \
  "AssertionError: expects an error text the emulator never had" "the failure's message with a space in the report directory"

# 2. A candidate that breaks every write: blocked, every write test a
#    regression with its assertion (the marker test too: the baseline ran in
#    a fresh worktree, so the file it left did not fail it there).
run_gate writes "$scratch/gate.yaml" "$writes"
expect_eq "$rc" 1 "a candidate that breaks writes is blocked"
expect_eq "$(outcomes items)" "test_create:regression test_create_once:regression test_delete:regression test_known_bug:pre-existing test_list:regression test_read_back:regression" \
  "every broken write is a regression"
expect_eq "$(json_get "$verdict" '[t["message"] for t in v["consumers"][0]["tests"] if t["name"].endswith("::test_create")][0]')" \
  "AssertionError: create a answered 500" "the regression's assertion message"
expect_eq "$(phase_services items)" "candidate:$repository@$writes baseline:$repository@$published" "the baseline's service ran from the published digest"
# test_create_once failed there on a rerun (the file its first run left): the
# rerun on the candidate that followed ran its service from the candidate.
expect_eq "$(json_get "$verdict" '" ".join(sorted(set(s["image"] for c in v["consumers"] if c["name"] == "items" for p in c["phases"] if p["role"] == "candidate-recheck" for s in p["services"])))')" \
  "$repository@$writes" "the rerun on the candidate: its service from the candidate"
python3 - "$scratch/run-writes/gate-report/events.jsonl" "$repository@$published" "$repository@$writes" <<'PY' || fail "events.jsonl: the baseline service's container"
import json, sys
created = [e["image"] for e in map(json.loads, open(sys.argv[1])) if e.get("type") == "container" and e.get("action") == "create"]
sys.exit(0 if sys.argv[2] in created and sys.argv[3] in created else 1)
PY
# The consumer that starts the image itself through ${CANDIDATE_REF}: its
# baseline containers are the published image's, none the candidate's.
expect_eq "$(outcomes self)" "test_create_in_own_container:regression" "self-starting consumer: a regression"
expect_eq "$(json_get "$verdict" '[c["baseline"]["status"] for c in v["consumers"] if c["name"] == "self"][0]')" used "self-starting consumer: baseline used"
expect_eq "$(json_get "$verdict" '" ".join(sorted(set(x.split(" ", 1)[1] for c in v["consumers"] if c["name"] == "self" for p in c["phases"] if p["role"] == "baseline" for x in p["containers_created"])))')" \
  "$repository@$published" "the baseline rerun's containers come from the baseline digest"
[ -z "$(containers_of_repository)" ] || fail "containers left behind: $(containers_of_repository)"
# The reports show the baseline per consumer and the image each phase's services ran from.
expect_file_contains "$scratch/run-writes/gate-report/report.html" "id=\"baseline\"" "report.html has the baseline section"
expect_file_contains "$scratch/run-writes/gate-report/report.html" "$repository@$published" "report.html names the baseline service's image"
expect_file_contains "$scratch/run-writes/gate-report/summary.md" "db from ${published:0:19}" "summary.md names the baseline service's image"

# 3. A candidate that breaks one command: exactly its test regresses.
run_gate delete "$scratch/gate.yaml" "$delete" --consumer items
expect_eq "$rc" 1 "a candidate that breaks delete is blocked"
expect_eq "$(outcomes items)" "test_delete:regression test_known_bug:pre-existing" "exactly the delete test regresses"
# events.jsonl shows this run's containers only (not the previous run's removals).
python3 - "$scratch/run-delete/gate-report/events.jsonl" <<'PY' || fail "events.jsonl holds containers of an earlier run"
import json, sys
events = [e for e in map(json.loads, open(sys.argv[1])) if e.get("type") == "container"]
created = {e["id"] for e in events if e["action"] == "create"}
others = sorted({e["id"] for e in events if e["id"] not in created})
if others: print("not created in this run:", others)
sys.exit(1 if others or not created else 0)
PY

# 4. A consumer that hard-codes the candidate's tag: the baseline rerun used
#    the candidate, so it is invalid and excuses nothing.
write_config "$scratch/hardcoded.yaml" "[latest]" "$(selfstart_consumer hard "$repository:pr-writes-$$")"
run_gate hardcoded "$scratch/hardcoded.yaml" "$writes"
expect_eq "$rc" 1 "a hard-coded candidate is blocked"
expect_eq "$(outcomes hard)" "test_create_in_own_container:regression" "a failure the invalid baseline shared stays a regression"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["baseline"]["status"]')" invalid "the baseline is invalid"
expect_file_contains "$verdict" "the candidate took part" "the verdict says why"

# 5. No published image: nothing is pre-existing, and the verdict says why.
write_config "$scratch/unpublished.yaml" "[never-$$]" "$(items_consumer items)"
run_gate unpublished "$scratch/unpublished.yaml" "$good"
expect_eq "$rc" 1 "no published image: the consumer's own bug blocks"
expect_eq "$(outcomes items)" "test_known_bug:regression" "no baseline: a regression"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["baseline"]["status"]')" unavailable "baseline unavailable"
expect_file_contains "$verdict" "no published image yet" "the reason is named"

# 6. Baseline services never ready (their readiness check fails for the published image).
not_ready_on_published="        ready: {command: [\"sh\", \"-c\", \"sleep 0.3; test \\\"\$\$GATE_CANDIDATE_DIGEST\\\" != $published\"]}
        ready_timeout: 2s"
write_config "$scratch/notready.yaml" "[latest]" "$(items_consumer items "" "$not_ready_on_published")"
run_gate notready "$scratch/notready.yaml" "$good"
expect_eq "$rc" 1 "baseline services never ready: the known bug blocks"
expect_eq "$(outcomes items)" "test_known_bug:regression" "services not ready: nothing pre-existing"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["baseline"]["status"]')" invalid "baseline invalid"
expect_file_contains "$verdict" "not ready within 2s" "the reason is named"

# 7. A baseline that times out: nothing pre-existing.
write_config "$scratch/slow.yaml" "[latest]" "$(pytest_consumer slow tests/test_slow.py "    timeout: 6s
    env: {EMU_DIGEST: \"\${CANDIDATE_DIGEST}\", PUBLISHED: \"$published\"}")"
run_gate slow "$scratch/slow.yaml" "$good"
expect_eq "$rc" 1 "a baseline that timed out excuses nothing"
expect_eq "$(outcomes slow)" "test_slow_on_published:regression" "timed-out baseline: a regression"
expect_file_contains "$verdict" "consumer's timeout" "the reason is named"

# 8. The candidate is the published image: passes with its known failures, and says so.
run_gate identical "$scratch/gate.yaml" "$published" --consumer items
expect_eq "$rc" 0 "the published image passes with its known failures"
expect_eq "$(outcomes items)" "test_known_bug:pre-existing" "pre-existing by identity"
expect_file_contains "$verdict" "is already published as $repository:latest" "says it is already published"

# 9. More pre-existing failures than max_pre_existing (default 10%) allows: blocked.
write_config "$scratch/legacy.yaml" "[latest]" "$(pytest_consumer legacy tests/test_legacy.py)"
run_gate legacy "$scratch/legacy.yaml" "$good"
expect_eq "$rc" 1 "above max_pre_existing: blocked"
expect_eq "$(outcomes legacy)" "test_a:pre-existing test_b:pre-existing test_c:pre-existing" "all three are pre-existing"
expect_file_contains "$verdict" "3 pre-existing failure(s), 75.0% of the 4 selected test(s), exceed max_pre_existing (10%)" \
  "the count and share are named"
[ -z "$(containers_of_repository)" ] || fail "containers left behind: $(containers_of_repository)"

# 10. A test that fails once and passes on its retry, with no published image
# to compare with: newly-flaky, which blocks; nothing gate observed says it
# was flaky before this candidate.
write_config "$scratch/flaky.yaml" "[never-flaky-$$]" "$(pytest_consumer flaky tests/test_flaky.py "    retries: 1
    env: {FLAKY_STATE: \"$scratch/flaky-state\"}")"
run_gate flaky "$scratch/flaky.yaml" "$good"
expect_eq "$rc" 1 "flaky without a baseline blocks ($(grep error "$scratch/run-flaky/err" | head -2))"
expect_eq "$(outcomes flaky)" "test_fails_once:newly-flaky" "no baseline: newly-flaky"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["baseline"]["status"]')" unavailable "baseline unavailable"

# 11. The timing store is evidence only as gate wrote it. Taught by gate (the
# published image itself showed the test failing and passing), the history
# lets the next candidate's flake pass as flaky; the same history written by
# anything else (here planted in the cache) is not used, and the flake blocks.
flaky11() {  # state-file
  pytest_consumer flaky tests/test_flaky.py "    retries: 1
    env: {FLAKY_STATE: \"$1\"}"
}
write_config "$scratch/flaky-teach.yaml" "[latest]" "$(flaky11 "$scratch/state-teach")"
cache="$scratch/cache-taught" run_gate teach "$scratch/flaky-teach.yaml" "$published"
expect_eq "$(outcomes flaky)" "test_fails_once:flaky" "on the published image itself: flaky"
write_config "$scratch/flaky-taught.yaml" "[latest]" "$(flaky11 "$scratch/state-taught")"
cache="$scratch/cache-taught" run_gate taught "$scratch/flaky-taught.yaml" "$good"
expect_eq "$rc" 0 "a flake gate saw on the published image before passes ($(grep error "$scratch/run-taught/err" | head -2))"
expect_eq "$(outcomes flaky)" "test_fails_once:flaky" "history from gate: flaky"
expect_eq "$(json_get "$verdict" '[t["known_before"] for t in v["consumers"][0]["tests"] if t["outcome"] == "flaky"]')" "[True]" \
  "known before"
mkdir -p "$scratch/cache-planted/timings"
printf '{"version": 2, "tests": {"tests/test_flaky.py::test_fails_once": {"seconds": 0.01, "flaky_on_published": 5}}}\n' \
  >"$scratch/cache-planted/timings/flaky.json"
write_config "$scratch/flaky-planted.yaml" "[latest]" "$(flaky11 "$scratch/state-planted")"
cache="$scratch/cache-planted" run_gate planted "$scratch/flaky-planted.yaml" "$good"
expect_eq "$rc" 1 "planted history excuses nothing"
expect_eq "$(outcomes flaky)" "test_fails_once:newly-flaky" "planted history: newly-flaky"
expect_file_contains "$scratch/run-planted/err" "was not written by gate" "says the store is not trusted"
# A store gate wrote and someone edited (its MAC line kept) is not trusted either.
sed -i 's/"flaky_on_published": 1/"flaky_on_published": 9/' "$scratch/cache-taught/timings/flaky.json"
grep -q '"flaky_on_published": 9' "$scratch/cache-taught/timings/flaky.json" || fail "the taught store has no flaky history to edit"
write_config "$scratch/flaky-edited.yaml" "[latest]" "$(flaky11 "$scratch/state-edited")"
cache="$scratch/cache-taught" run_gate edited "$scratch/flaky-edited.yaml" "$good"
expect_eq "$rc" 1 "an edited store excuses nothing"
expect_eq "$(outcomes flaky)" "test_fails_once:newly-flaky" "edited store: newly-flaky"
true

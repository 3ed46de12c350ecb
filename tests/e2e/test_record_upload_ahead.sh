# The record's upload session is opened while the tests run: after the last
# test, a passing `gate test` makes no upload POST, only the PUT into the
# session it opened (and the record's manifest and index), and the record is
# attached. A blocked run makes no record and cancels the session (DELETE),
# leaving none open. A session the registry refuses when the bytes come (an
# expired one) is replaced by a new one, and the record is still attached.
# Seen through a logging proxy; the consumer's last test asks the proxy for
# a marker path, so the log shows what happened after the tests.
source "$(dirname "$0")/lib.sh"

candidate=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "${repository#*/}" candidate)
echo '[]' >"$scratch/rules.json"
start_fault_proxy "$GATE_REGISTRY"
proxied="$address/${repository#*/}"

consumer="$scratch/consumer"
mkdir -p "$consumer/tests"
cat >"$consumer/tests/test_items.py" <<PY
import os, urllib.request, urllib.error

def test_first():
    assert os.environ.get("BREAK") != "1", "the candidate broke the first test"

def test_zz_marks_the_end():
    try:
        urllib.request.urlopen("http://$address/v2/gate-e2e-marker/tests-ended", timeout=10)
    except urllib.error.HTTPError:
        pass  # the registry's 404: the proxy has logged it
PY
make_repo "$consumer" >/dev/null
cat >"$scratch/gate.yaml" <<YAML
version: 1
image: {repository: $proxied}
consumers:
  - name: items
    repo: $consumer
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    env: {BREAK: "\${BREAK}"}
YAML

# After the marker: the requests gate made once the tests had ended.
after_marker() {
  python3 - "$scratch/proxy.jsonl" <<'PY'
import json, re, sys
entries = [json.loads(line) for line in open(sys.argv[1])]
ends = [i for i, e in enumerate(entries) if e["path"].endswith("/tests-ended")]
after = entries[ends[-1] + 1:] if ends else []
print(" ".join(e["method"] + ":" + ("upload" if "/blobs/uploads/" in e["path"] else
      "index" if re.search(r"/manifests/sha256-", e["path"]) else
      "manifest" if "/manifests/" in e["path"] else e["path"]) for e in after))
PY
}
run_gate() {  # name [env...]
  local name=$1
  shift
  : >"$scratch/proxy.jsonl"
  env BREAK= "$@" "$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$proxied@$candidate" \
    --cache-dir "$scratch/cache" --report-dir "$scratch/$name" >/dev/null 2>"$scratch/$name.err"
  rc=$?
}
referrers() { json_get /dev/stdin 'len([m for m in v["manifests"] if m.get("artifactType") == "application/vnd.in-toto+json"])' \
  < <(raw_manifest "$repository:sha256-${candidate#sha256:}" || echo '{"manifests": []}'); }

# 0. The repository's first artifact also pushes the empty config (the
#    registry asks for it): a first passing run does that.
run_gate first
expect_eq "$rc" 0 "the first passing run ($(grep -m2 error "$scratch/first.err"))"
expect_eq "$(referrers)" 1 "the first record is attached"

# 1. A passing run: the session was opened before the tests ended.
run_gate pass
expect_eq "$rc" 0 "the passing run ($(grep -m2 error "$scratch/pass.err"))"
expect_file_contains "$scratch/pass.err" "recorded the verification of $candidate" "says it recorded"
expect_eq "$(proxy_count POST '/blobs/uploads/$')" 1 "one upload session opened"
# (the index is read while the artifact is pushed: GET anywhere among them)
expect_eq "$(after_marker | sed 's/GET:index //')" "PUT:upload PUT:manifest PUT:index" \
  "after the tests: the blob into the open session, the manifest, the index"
expect_eq "$(referrers)" 2 "the record is attached"

# 2. A blocked run: no record, and the session is cancelled.
run_gate blocked BREAK=1
expect_eq "$rc" 1 "the blocked run ($(grep -m2 error "$scratch/blocked.err"))"
expect_eq "$(proxy_count POST '/blobs/uploads/$')" 1 "the session was opened"
expect_eq "$(proxy_count PUT '/blobs/uploads/')" 0 "nothing uploaded"
expect_eq "$(proxy_count DELETE '/blobs/uploads/.' 204)" 1 "the unused session cancelled"
expect_eq "$(referrers)" 2 "no record of the blocked run"

# 3. The registry refuses the session opened ahead (as one that expired):
#    a new one is opened after the tests, and the record is attached.
echo '[{"method": "PUT", "path": "/blobs/uploads/", "fault": "404", "times": 1}]' >"$scratch/rules.json"
run_gate refused
expect_eq "$rc" 0 "the run whose session was refused ($(grep -m2 error "$scratch/refused.err"))"
expect_eq "$(after_marker | sed 's/GET:index //')" "PUT:upload POST:upload PUT:upload PUT:manifest PUT:index" \
  "the refused PUT, a new session, then the record"
expect_file_contains "$scratch/refused.err" "the session opened ahead was refused" "says why it opened another"
expect_eq "$(referrers)" 3 "the third record is attached"

finish

# runner: command with junit gets the same evidence rules as the suite
# runners. A real third-party suite (mocha, its xunit reporter: failure
# messages are the element's text) that reaches a service from the
# candidate at a hard-coded localhost port (host_ports), with retries and
# baseline: a test that fails on both images is pre-existing, one the
# candidate breaks is a regression with its message, one flaky on both
# images is flaky; a run that stops half way blocks as missing; a taken
# host port is named.
source "$(dirname "$0")/lib.sh"

mocha="$GATE_BUILD_DIR/node/node_modules/mocha/bin/mocha.js"
[ -f "$mocha" ] || { fail "mocha is not installed in build/node (scripts/bootstrap installs it)"; exit 1; }
port=$(free_port)
consumer="$scratch/consumer"
mkdir -p "$consumer/test"
sed "s/__PORT__/$port/" >"$consumer/test/items.js" <<'JS'
const assert = require('assert');
const fs = require('fs');
const http = require('http');
const PORT = __PORT__;  // hard-coded, as many suites do

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : null;
    const req = http.request({host: 'localhost', port: PORT, method, path,
                              headers: data ? {'Content-Length': Buffer.byteLength(data)} : {}}, res => {
      let text = '';
      res.on('data', c => { text += c; });
      res.on('end', () => resolve({status: res.statusCode, body: text ? JSON.parse(text) : null}));
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const tests = [
  ['answers health', async () => assert.strictEqual((await call('GET', '/health')).status, 200)],
  ['creates an item', async () => {
    const r = await call('POST', '/items', {name: 'a'});
    assert.strictEqual(r.status, 201, `create answered ${r.status}`);
  }],
  ['knows an error text the emulator never had', async () => {
    const r = await call('GET', '/items/nope');
    assert.deepStrictEqual(r.body, {error: 'missing'}, 'expects an error text the emulator never had');
  }],
  ['takes half a second', () => new Promise(resolve => setTimeout(resolve, 500))],
  ['is flaky on every image', () => {
    const f = process.env.FLAKY_FILE;
    const n = fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0;
    fs.writeFileSync(f, String(n + 1));
    assert.ok(n % 2 === 1, 'fails every other run');
  }],
  ['lists the checkout', () => {
    // What the checkout holds while the suite runs (gate must add nothing).
    const walk = d => fs.readdirSync(d, {withFileTypes: true}).flatMap(e =>
      e.isDirectory() ? (e.name === 'reports' ? [] : walk(`${d}/${e.name}`)) : [`${d}/${e.name}`]);
    fs.writeFileSync(process.env.LISTING, walk('.').sort().join(' '));
  }],
];
// ABORT_AFTER: the suite stops registering tests half way (and exits 0).
const limit = Number(process.env.ABORT_AFTER || tests.length);
describe('items', () => { tests.slice(0, limit).forEach(([name, fn]) => it(name, fn)); });
JS
make_repo "$consumer" >/dev/null 2>&1 || true
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m tests

published=$(build_emulator good "")
good=$(build_emulator good2 "")
writes=$(build_emulator writes writes)
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/build-good.yaml" --candidate "$repository@$published" >/dev/null 2>&1
expect_eq "$(tag_digest "$repository" latest)" "$published" "the good image is published"

cat >"$scratch/gate.yaml" <<YAML
version: 1
image: {repository: $repository, publish_tags: [latest]}
consumers:
  - name: mocha
    repo: $consumer
    ref: main
    runner: command
    run: ["node", "$mocha", "--reporter", "xunit", "--reporter-option", "output=reports/xunit.xml", "test/"]
    junit: "reports/*.xml"
    retries: 1
    baseline: true
    timeout: 2m
    services:
      - name: db
        ports: [8080]
        host_ports: {8080: $port}
        ready: {tcp: 8080}
YAML
export FLAKY_FILE="$scratch/flaky.count" LISTING="$scratch/listing.txt"
run_gate() {  # label candidate-digest (from a directory of its own, the default report directory)
  rm -rf "$scratch/$1" && mkdir -p "$scratch/$1"
  (cd "$scratch/$1" && "$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$2" \
    --cache-dir "$scratch/cache" >/dev/null 2>"$scratch/$1.err")
  rc=$?
  verdict="$scratch/$1/gate-report/verdict.json"
}
outcomes() {
  json_get "$verdict" "' | '.join(sorted(t['name'] + ':' + t['outcome'] for t in v['consumers'][0]['tests'] if t['outcome'] != 'passed'))"
}

# A candidate that breaks writes: the create test regresses (its message read
# from the element's text), the known bug is pre-existing, the flaky test
# flaky on both images; the baseline's service ran on the same fixed port.
run_gate writes "$writes"
expect_eq "$rc" 1 "the write-breaking candidate is blocked ($(grep -m2 error "$scratch/writes.err"))"
expect_eq "$(outcomes)" "creates an item:regression | is flaky on every image:flaky | knows an error text the emulator never had:pre-existing" \
  "outcomes of the mocha suite"
expect_eq "$(json_get "$verdict" '[t["message"] for t in v["consumers"][0]["tests"] if t["name"] == "creates an item"][0]')" \
  "create answered 500" "the regression's message, from the element's text"
expect_eq "$(json_get "$verdict" '[(t["confirm"]["runs"], t["baseline"]["runs"] > 0, t["baseline"]["failures"] > 0) for t in v["consumers"][0]["tests"] if t["name"] == "is flaky on every image"][0]')" \
  "(3, True, True)" "the flaky test's evidence: confirmation reruns on both images"
expect_eq "$(json_get "$verdict" '" ".join(p["role"] + ":" + s["image"] for p in v["consumers"][0]["phases"] for s in p["services"])')" \
  "candidate:$repository@$writes baseline:$repository@$published" "the service of each phase, from its image"
expect_eq "$(grep -c "service db ready at 127.0.0.1:$port" "$scratch/writes.err")" 2 "each phase's service on the fixed host port"

# The good candidate passes with its known failure and the flaky test.
rm -f "$FLAKY_FILE"
run_gate good "$good"
expect_eq "$rc" 0 "the good candidate passes ($(grep -m2 error "$scratch/good.err"))"
expect_eq "$(outcomes)" "is flaky on every image:flaky | knows an error text the emulator never had:pre-existing" "good candidate outcomes"
expect_seconds_near "$verdict" 't["name"] == "takes half a second"' 0.5 "mocha's per-test seconds"
expect_eq "$(cat "$LISTING")" "./first.txt ./test/items.js" "the checkout holds the consumer's files (and the reports it writes), nothing of gate's"

# A run that stops half way (exit 0, half the tests): missing, blocked.
rm -f "$FLAKY_FILE"
ABORT_AFTER=2 run_gate half "$good"
expect_eq "$rc" 1 "a run that stops half way is blocked"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["missing"]')" \
  "['items::knows an error text the emulator never had', 'items::takes half a second', 'items::is flaky on every image', 'items::lists the checkout']" "the missing tests are named"
expect_file_contains "$verdict" "4 test(s) that the last passing run" "the reason names the count"

# A host port that another process holds: named, nothing left running.
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for _ in range(100):  # the last run'"'"'s service may still be releasing it
    try:
        s.bind(("127.0.0.1", int(sys.argv[1]))); break
    except OSError:
        time.sleep(0.1)
s.listen(1); open(sys.argv[2], "w").write("bound"); time.sleep(60)' "$port" "$scratch/holder.bound" &
holder=$!
background_pids+=($holder)
wait_for_file "$scratch/holder.bound"
run_gate taken "$good"
kill "$holder" 2>/dev/null
expect_eq "$rc" 1 "a taken host port fails the consumer"
expect_file_contains "$verdict" "host port 127.0.0.1:$port (for container port 8080) is taken by another process" "the taken port is named"
[ -z "$(containers_of_repository)" ] || fail "containers left behind: $(containers_of_repository)"
true

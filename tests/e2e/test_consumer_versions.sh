# The consumer versions users run: `releases: 2` tests the two newest
# release tags of the consumer's remote besides main, each a consumer of its
# own ("emucli@v1.10"). The candidate breaks DELETE; only the oldest release
# still tests deleting, so only it blocks, by name, and the baseline (the
# published image passes it) calls it a regression. Version order is
# numeric (v1.10 after v1.9); pre-releases and other tags are no releases.
# Sharded and merged, the verdict is the same; a release tagged after the
# plan is not tested by its jobs (the plan pins the versions).
source "$(dirname "$0")/lib.sh"

good=$(build_emulator good "")
broken=$(build_emulator broken delete)
[ -n "$good" ] && [ -n "$broken" ] || fail "emulator builds: $(cat "$scratch"/build-*.err)"
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/build-good.yaml" --candidate "$repository@$good" >/dev/null 2>&1 ||
  fail "publishing the good emulator"

# The consumer's history: c1 tests deleting; c2 (v2.0) and main no longer do.
repo="$scratch/consumer"
cp -a "$GATE_BUILD_DIR/demo/consumer" "$repo"
make_repo "$repo" >/dev/null 2>&1
g() { git_quiet -C "$repo" "$@"; }
g tag v1.2
g tag v1.9
g tag -a v1.10 -m "release 1.10"
g tag v3.0-rc1
g tag nightly
python3 - "$repo/tests/test_items.py" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(text[: text.index("def test_delete_item")])
PY
g commit -qam "deleting moved out of the CLI"
g tag -a v2.0 -m "release 2.0"
echo "docs" >>"$repo/README.md"
g commit -qam "main moves on"

cat >"$scratch/gate.yaml" <<YAML
version: 1
image:
  repository: $repository
  context: $GATE_BUILD_DIR/demo/image
  publish_tags: [latest]
consumers:
  - name: emucli
    repo: $repo
    ref: main
    releases: 2
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider"]
    tests: [tests]
    baseline: true
    env: {EMULATOR_IMAGE: "\${CANDIDATE_REF}"}
    timeout: 3m
YAML
"$GATE_BIN" validate --config "$scratch/gate.yaml" >/dev/null || fail "config invalid"

"$GATE_BIN" run --dry-run --config "$scratch/gate.yaml" --candidate "$repository@$broken" --report-dir "$scratch/run" \
  >"$scratch/run.out" 2>&1
expect_eq "$?" 1 "the run blocks ($(grep -i error "$scratch/run.out" | head -2))"
expect_eq "$(json_get "$scratch/run/verdict.json" '[c["name"] for c in v["consumers"]]')" \
  "['emucli', 'emucli@v2.0', 'emucli@v1.10']" "main and the two newest releases, by version order"
expect_eq "$(json_get "$scratch/run/verdict.json" '[(c["name"], c["status"]) for c in v["consumers"]]')" \
  "[('emucli', 'passed'), ('emucli@v2.0', 'passed'), ('emucli@v1.10', 'failed')]" "only the oldest release blocks"
expect_eq "$(json_get "$scratch/run/verdict.json" '[t["id"].split("::")[-1] + ":" + t["outcome"] for c in v["consumers"] for t in c["tests"] if t["status"] != "passed"]')" \
  "['test_delete_item:regression']" "its delete test, a regression by the baseline"
expect_eq "$(json_get "$scratch/run/verdict.json" '[c["ref"] for c in v["consumers"]]')" \
  "['main', 'refs/tags/v2.0', 'refs/tags/v1.10']" "each version checked out at its tag"
expect_eq "$(json_get "$scratch/run/verdict.json" 'v["consumer_versions"]')" "{'emucli': ['v2.0', 'v1.10']}" \
  "the verdict records the versions"
expect_file_contains "$scratch/run/junit.xml" 'testsuite name="emucli@v1.10"' "JUnit names the version"
expect_file_contains "$scratch/run/summary.md" "emucli@v1.10" "the summary names the version"
expect_file_contains "$scratch/run/report.html" "emucli@v1.10" "the report names the version"
expect_file_contains "$scratch/run.out" "emucli@v1.10" "the log names the version"

# Sharded: the plan pins the versions; a release tagged after it is not
# one the jobs test.
sed -i 's/    releases: 2/    releases: 2\n    shards: 2/' "$scratch/gate.yaml"
"$GATE_BIN" plan --config "$scratch/gate.yaml" --max-jobs 3 --out "$scratch/plan.json" >/dev/null 2>"$scratch/plan.err"
expect_eq "$?" 0 "plan ($(tail -2 "$scratch/plan.err"))"
expect_eq "$(json_get "$scratch/plan.json" 'v["versions"]')" "{'emucli': ['v2.0', 'v1.10']}" "the plan pins the versions"
g tag v2.1 HEAD~1
for j in 1 2 3; do
  "$GATE_BIN" test --config "$scratch/gate.yaml" --plan "$scratch/plan.json" --job "$j" \
    --candidate "$repository@$broken" --report-dir "$scratch/jobs/$j" >"$scratch/job-$j.out" 2>&1
done
"$GATE_BIN" merge --config "$scratch/gate.yaml" --report-dir "$scratch/merged" "$scratch"/jobs/* >/dev/null 2>"$scratch/merge.err"
expect_eq "$?" 1 "the merged verdict blocks ($(grep -i error "$scratch/merge.err" | head -2))"
expect_eq "$(json_get "$scratch/merged/verdict.json" '[(c["name"], c["status"]) for c in v["consumers"]]')" \
  "$(json_get "$scratch/run/verdict.json" '[(c["name"], c["status"]) for c in v["consumers"]]')" "the same verdict as the run"
expect_eq "$(json_get "$scratch/merged/verdict.json" '[t["id"].split("::")[-1] for c in v["consumers"] for t in c["tests"] if t["status"] != "passed"]')" \
  "['test_delete_item']" "the same regressed test"
# Shards that disagree on the versions are not one run.
python3 - "$scratch/jobs/1/verdict.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1])); v["consumer_versions"] = {"emucli": ["v2.1", "v2.0"]}
json.dump(v, open(sys.argv[1], "w"))
PY
"$GATE_BIN" merge --config "$scratch/gate.yaml" --report-dir "$scratch/m2" "$scratch"/jobs/* >/dev/null 2>"$scratch/m2.err"
expect_eq "$?" 3 "merge of shards that tested different versions"
expect_file_contains "$scratch/m2.err" "tested different consumer versions" "says why"

# A verdict that did not test the configured versions does not publish.
"$GATE_BIN" run --dry-run --config "$scratch/gate.yaml" --candidate "$repository@$good" --report-dir "$scratch/green" \
  >/dev/null 2>&1
expect_eq "$?" 0 "the good image passes every version"
# Its record vouches for each version it tested; status asks the remote
# which versions users run now: v2.2, tagged since, was not tested.
g tag v2.2 HEAD~1
"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$good" >"$scratch/status.out" 2>&1
expect_eq "$?" 1 "status: a release tagged since the run is not verified"
expect_file_contains "$scratch/status.out" "^emucli@v2.1: verified" "the tested release is verified"
expect_file_contains "$scratch/status.out" "^emucli@v2.2: not verified" "the new release is not"
python3 - "$scratch/green/verdict.json" "$scratch/forged.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
v["command"] = "merge"
v["consumers"] = [c for c in v["consumers"] if "@" not in c["name"]]
del v["consumer_versions"]
json.dump(v, open(sys.argv[2], "w"))
PY
before=$(tag_digest "$repository" latest)
"$GATE_BIN" publish --config "$scratch/gate.yaml" --verdict "$scratch/forged.json" >/dev/null 2>"$scratch/forged.err"
[ "$?" -ne 0 ] || fail "a verdict without the versions was published"
expect_file_contains "$scratch/forged.err" "did not test the versions of consumer 'emucli'" "says why"
expect_eq "$(tag_digest "$repository" latest)" "$before" "nothing published"

# Bad version settings: file, line, column, exit 2.
sed -i 's/    releases: 2/    releases: 2\n    refs: ["feature\/x"]/' "$scratch/gate.yaml"
"$GATE_BIN" validate --config "$scratch/gate.yaml" >/dev/null 2>"$scratch/bad.err"
expect_eq "$?" 2 "a ref that cannot name a consumer"
expect_file_contains "$scratch/bad.err" "gate.yaml:[0-9]*:[0-9]*: consumer 'emucli' refs: 'feature/x'" "names the place"
sed -i 's|    refs: \["feature/x"\]|    release_pattern: "v(["|' "$scratch/gate.yaml"
"$GATE_BIN" validate --config "$scratch/gate.yaml" >/dev/null 2>"$scratch/bad2.err"
expect_eq "$?" 2 "a release_pattern that is no regular expression"
expect_file_contains "$scratch/bad2.err" "gate.yaml:[0-9]*:[0-9]*: consumer 'emucli' release_pattern 'v(\[' is not a regular expression" "names it and its place"
[ -z "$(containers_of_repository)" ] || fail "containers left behind"

# gate publish --verdict publishes only the digest of a verdict that passed,
# for this config's repository; anything else exits 1 without a request
# that writes (checked through a proxy's request log).
source "$(dirname "$0")/lib.sh"

start_fault_proxy "$GATE_REGISTRY"; proxy=$address
echo '[]' >"$scratch/rules.json"
# Build both candidates straight into the registry.
write_demo_config v1
good=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b1" 2>/dev/null); good=${good##*@}
write_demo_config v2
bad=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b2" 2>/dev/null); bad=${bad##*@}
# Test them through the proxy's address (same storage), producing verdicts.
sed -i "s|$GATE_REGISTRY/|$proxy/|" "$scratch/gate.yaml"
"$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$proxy/e2e/${test_name#test_}-$$@$good" --report-dir "$scratch/good" >/dev/null 2>&1
expect_eq "$?" 0 "test of the good candidate"
"$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$proxy/e2e/${test_name#test_}-$$@$bad" --report-dir "$scratch/bad" >/dev/null 2>&1
expect_eq "$?" 1 "test of the breaking candidate"

writes() {
  python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["method"] in ("PUT", "POST", "PATCH", "DELETE")))' "$scratch/proxy.jsonl"
}
refused() {  # what verdict-file [args]: exit 1, no write
  local what=$1 file=$2
  shift 2
  : >"$scratch/proxy.jsonl"
  "$GATE_BIN" publish --config "$scratch/gate.yaml" --verdict "$file" "$@" >/dev/null 2>"$scratch/err"
  expect_eq "$?" 1 "$what: exit code"
  expect_eq "$(writes)" 0 "$what: write requests"
  expect_file_contains "$scratch/err" "publish refused" "$what: says it refused"
}
refused "blocked verdict" "$scratch/bad/verdict.json"
expect_file_contains "$scratch/err" "did not pass (exit code 1)" "blocked verdict: why"
refused "candidate other than the verdict's" "$scratch/good/verdict.json" --candidate "$proxy/e2e/${test_name#test_}-$$@$bad"
sed "s|$proxy/e2e|$proxy/other|" "$scratch/good/verdict.json" >"$scratch/other-repo.json"
refused "verdict for another repository" "$scratch/other-repo.json"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); v["consumers"]=[]; json.dump(v, open(sys.argv[2],"w"))' \
  "$scratch/good/verdict.json" "$scratch/no-consumer.json"
refused "verdict that tested nothing" "$scratch/no-consumer.json"
# A forged or edited verdict: the whole of it is checked, not its exit code.
forge() {  # name python-statement-on-v
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(v, open(sys.argv[2],"w"))' \
    "$scratch/good/verdict.json" "$scratch/$1.json" "$2"
}
forge consumer-failed 'v["consumers"][0]["status"] = "failed"'
refused "exit_code 0 but a consumer failed" "$scratch/consumer-failed.json"
expect_file_contains "$scratch/err" "consumer 'emucli' failed" "a failed consumer: why"
forge decision-blocked 'v["decision"]["exit_code"] = 1'
refused "exit_code 0 but the decision blocked" "$scratch/decision-blocked.json"
forge dry-run 'v["command"] = "run"; v["dry_run"] = True'
refused "a dry run's verdict" "$scratch/dry-run.json"
expect_file_contains "$scratch/err" "dry run" "a dry run: why"
forge stranger 'v["consumers"].append(dict(v["consumers"][0], name="stranger"))'
refused "a consumer the config does not have" "$scratch/stranger.json"
forge shard 'v["consumers"][0]["shard"] = "1/2"'
refused "one shard of a split consumer" "$scratch/shard.json"
expect_file_contains "$scratch/err" "gate merge" "a shard: says to merge"
forge skipped 'v["skipped"] = True'
refused "a skipped run" "$scratch/skipped.json"
cp "$scratch/gate.yaml" "$scratch/two.yaml"
printf '  - {name: second, repo: /nonexistent, run: "true"}\n' >>"$scratch/two.yaml"
: >"$scratch/proxy.jsonl"
"$GATE_BIN" publish --config "$scratch/two.yaml" --verdict "$scratch/good/verdict.json" >/dev/null 2>"$scratch/err"
expect_eq "$?" 1 "a verdict missing a consumer of the config"
expect_file_contains "$scratch/err" "did not test consumer 'second'" "a missing consumer: why"
expect_eq "$(writes)" 0 "a missing consumer: write requests"

malformed() {  # what content expected-reason
  printf '%s' "$2" >"$scratch/malformed.json"
  : >"$scratch/proxy.jsonl"
  "$GATE_BIN" publish --config "$scratch/gate.yaml" --verdict "$scratch/malformed.json" >/dev/null 2>"$scratch/err"
  expect_eq "$?" 2 "$1: exit code"
  expect_eq "$(writes)" 0 "$1: write requests"
  expect_file_contains "$scratch/err" "$3" "$1: the reason"
}
malformed "not a verdict" '{"hello": 1}' 'no "schema": "gate.verdict/v1"'
malformed "a JSON array" '[]' "the file holds array, expected an object"
malformed "a string" '"passed"' "the file holds string, expected an object"
malformed "exit_code of the wrong type" '{"schema": "gate.verdict/v1", "exit_code": "0"}' "'exit_code' is string, expected an integer"
malformed "decision missing" '{"schema": "gate.verdict/v1", "exit_code": 0}' "has no 'decision'"
forge bad-shape 'v["consumers"] = [1]'
malformed "consumers of the wrong shape" "$(cat "$scratch/bad-shape.json")" "'consumers\[0\]' is number, expected an object"
malformed "truncated JSON" '{"schema": "gate.verdict/v1", ' "is not JSON"
expect_eq "$(tag_digest "$GATE_REGISTRY/e2e/${test_name#test_}-$$" latest)" none "nothing published by refusals"

# The passing verdict publishes exactly its digest.
"$GATE_BIN" publish --config "$scratch/gate.yaml" --verdict "$scratch/good/verdict.json" >"$scratch/out" 2>"$scratch/err"
expect_eq "$?" 0 "publish of a passing verdict"
expect_eq "$(tag_digest "$GATE_REGISTRY/e2e/${test_name#test_}-$$" latest)" "$good" "latest is the verdict's digest"
expect_eq "$(tag_digest "$GATE_REGISTRY/e2e/${test_name#test_}-$$" stable)" "$good" "stable is the verdict's digest"
# The verdict remembers where the tags were when it was made: once they have
# moved, publishing that verdict again over someone else's release is refused.
python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "e2e/${test_name#test_}-$$" latest >/dev/null
"$GATE_BIN" publish --config "$scratch/gate.yaml" --verdict "$scratch/good/verdict.json" >/dev/null 2>"$scratch/err"
expect_eq "$?" 1 "a verdict whose tags moved since"
expect_file_contains "$scratch/err" "another release was published meanwhile" "says why"

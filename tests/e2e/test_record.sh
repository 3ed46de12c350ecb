# The verified-digest record: a passing run attaches its verdict to the
# candidate digest as an OCI artifact (subject = the image), listed under the
# referrers tag schema's "sha256-<hex>" tag; `gate status` says yes for it and
# no for an untested digest; `publish --require-record` refuses the latter.
# The record is a SLSA Verification Summary in an in-toto Statement, valid
# against the shape those specifications give (tests/schemas/vsa-v1), whose
# subject is the image digest and whose policy is the config's digest.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
"$GATE_BIN" run --dry-run --config "$scratch/gate.yaml" --report-dir "$scratch/r1" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "passing run"
good=$(json_get "$scratch/r1/verdict.json" 'v["candidate"]["digest"]')
commit=$(git -C "$GATE_BUILD_DIR/demo/consumer" rev-parse main)
expect_file_contains "$scratch/err" "recorded the verification of $good" "says it recorded"

"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$good" >"$scratch/status" 2>&1
expect_eq "$?" 0 "status of the tested digest ($(cat "$scratch/status"))"
expect_file_contains "$scratch/status" "emucli: verified at commit $commit" "names consumer and commit"
expect_file_contains "$scratch/status" "can be deployed" "the answer"
# The record names the consumer's repository: under the same name, another
# repository's pass does not count.
sed "s|^    repo: .*|    repo: $scratch/another-consumer|" "$scratch/gate.yaml" >"$scratch/other-repo.yaml"
"$GATE_BIN" status --config "$scratch/other-repo.yaml" "$repository@$good" >"$scratch/other-status" 2>&1
expect_eq "$?" 1 "status: a record of another repository under the consumer's name ($(cat "$scratch/other-status"))"

# The artifact, visible with skopeo on the fallback tag.
raw_manifest "$repository:sha256-${good#sha256:}" >"$scratch/index.json" || fail "no referrers tag"
artifact=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["manifests"]; print(m[0]["digest"] if m and m[0].get("artifactType")=="application/vnd.in-toto+json" else "")' "$scratch/index.json")
[ -n "$artifact" ] || fail "the referrers index lists no in-toto record: $(cat "$scratch/index.json")"
raw_manifest "$repository@$artifact" >"$scratch/artifact.json"
expect_eq "$(json_get "$scratch/artifact.json" 'v["subject"]["digest"]')" "$good" "the artifact's subject is the image"
layer=$(json_get "$scratch/artifact.json" 'v["layers"][0]["digest"]')
curl -fsS "http://$GATE_REGISTRY/v2/${repository#*/}/blobs/$layer" >"$scratch/vsa.json" || fail "cannot read the record's blob"
/usr/bin/python3 - "$GATE_SOURCE_DIR/tests/schemas/vsa-v1.schema.json" "$scratch/vsa.json" >"$scratch/schema.out" 2>&1 <<'PY'
import json, sys
import jsonschema
schema, doc = (json.load(open(p)) for p in sys.argv[1:3])
errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]
print("\n".join(errors) or "valid")
PY
expect_eq "$(cat "$scratch/schema.out")" valid "the record is an in-toto Statement with a VSA predicate"
expect_eq "$(json_get "$scratch/vsa.json" 'v["subject"][0]["digest"]["sha256"]')" "${good#sha256:}" "its subject digest"
expect_eq "$(json_get "$scratch/vsa.json" 'v["predicate"]["verificationResult"]')" PASSED "its result"
expect_eq "$(json_get "$scratch/vsa.json" 'v["predicate"]["policy"]["digest"]["sha256"]')" \
  "$(sha256sum "$scratch/gate.yaml" | cut -d' ' -f1)" "its policy is the config, by digest"
expect_eq "$(json_get "$scratch/vsa.json" '[c["name"] + ":" + c["commit"] for c in v["predicate"]["https://github.com/acme/gate/consumers/v1"]["consumers"]]')" \
  "['emucli:$commit']" "gate's per-consumer results in its extension field"
# The schema can fail: a record without its subject digest does not pass it.
/usr/bin/python3 - "$GATE_SOURCE_DIR/tests/schemas/vsa-v1.schema.json" "$scratch/vsa.json" <<'PY' || fail "the schema accepted a statement without a subject digest"
import json, sys
import jsonschema
schema, doc = (json.load(open(p)) for p in sys.argv[1:3])
del doc["subject"][0]["digest"]
sys.exit(0 if list(jsonschema.Draft202012Validator(schema).iter_errors(doc)) else 1)
PY

# An untested digest: no.
write_demo_config v2
bad=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b" 2>/dev/null); bad=${bad##*@}
"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$bad" >"$scratch/status" 2>&1
expect_eq "$?" 1 "status of an untested digest"
expect_file_contains "$scratch/status" "emucli: not verified" "says which consumer"
# One shard's pass is not the consumer's: a passing `run --shard 1/2` records
# nothing that status or publish would take for a verification.
shard_digest=$(build_emulator shard "")
"$GATE_BIN" run --dry-run --shard 1/2 --config "$scratch/gate.yaml" --candidate "$repository@$shard_digest" \
  --report-dir "$scratch/shard" >/dev/null 2>"$scratch/shard.err"
expect_eq "$?" 0 "a passing shard ($(grep -i error "$scratch/shard.err"))"
expect_eq "$(json_get "$scratch/shard/verdict.json" '[c["shard"] for c in v["consumers"]]')" "['1/2']" "it ran one shard"
"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$shard_digest" >/dev/null 2>&1
expect_eq "$?" 1 "status after a passing shard: not verified"
"$GATE_BIN" publish --config "$scratch/gate.yaml" --candidate "$repository@$shard_digest" >/dev/null 2>&1
expect_eq "$?" 1 "publish --candidate after a passing shard: refused"
# A blocked run records nothing.
"$GATE_BIN" run --dry-run --config "$scratch/gate.yaml" --candidate "$repository@$bad" --report-dir "$scratch/r2" >/dev/null 2>&1
expect_eq "$?" 1 "blocked run"
"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$bad" >/dev/null 2>&1
expect_eq "$?" 1 "still not verified after a blocked run"

# publish --require-record.
"$GATE_BIN" publish --require-record --config "$scratch/gate.yaml" --candidate "$repository@$bad" >/dev/null 2>"$scratch/err"
expect_eq "$?" 1 "publish of an unrecorded digest with --require-record"
expect_file_contains "$scratch/err" "no verification record for emucli" "says why"
expect_eq "$(tag_digest "$repository" latest)" none "nothing published"
"$GATE_BIN" publish --require-record --config "$scratch/gate.yaml" --candidate "$repository@$good" >/dev/null 2>&1
expect_eq "$?" 0 "publish of a recorded digest"
expect_eq "$(tag_digest "$repository" latest)" "$good" "published"

# Into another repository, the digest's referrers come along: the record
# (listed under the referrers tag there too) and a cosign-style signature
# tag. `gate status` in the release repository finds the record.
release="$repository-release"
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$repository@$good" \
  "docker://$repository:sha256-${good#sha256:}.sig" >/dev/null 2>&1 || fail "pushing a stand-in signature"
sig=$(tag_digest "$repository" "sha256-${good#sha256:}.sig")
write_demo_config v1
sed -i "s|^  publish_tags:.*|  publish_tags: [latest]\n  publish_repository: $release|" "$scratch/gate.yaml"
"$GATE_BIN" publish --config "$scratch/gate.yaml" --candidate "$repository@$good" >/dev/null 2>"$scratch/cross.err"
expect_eq "$?" 0 "cross-repository publish ($(grep -i error "$scratch/cross.err"))"
expect_file_contains "$scratch/cross.err" "carried 2 referrer(s) of $good" "says what it carried"
raw_manifest "$release:sha256-${good#sha256:}" >"$scratch/release-index.json" || fail "no referrers tag in the release repository"
expect_eq "$(json_get "$scratch/release-index.json" '[m["digest"] for m in v["manifests"]]')" "['$artifact']" \
  "the release repository lists the same record"
expect_eq "$(raw_manifest "$release@$artifact" | python3 -c 'import json,sys; print(json.load(sys.stdin)["subject"]["digest"])')" \
  "$good" "the record is there, its subject the image"
expect_eq "$(tag_digest "$release" "sha256-${good#sha256:}.sig")" "$sig" "the signature tag came along"
sed -i "s|^  repository: .*|  repository: $release|" "$scratch/gate.yaml"
"$GATE_BIN" status --config "$scratch/gate.yaml" "$release@$good" >"$scratch/status" 2>&1
expect_eq "$?" 0 "status in the release repository ($(cat "$scratch/status"))"
# Publishing again carries nothing twice.
sed -i "s|^  repository: .*|  repository: $repository|" "$scratch/gate.yaml"
"$GATE_BIN" publish --config "$scratch/gate.yaml" --candidate "$repository@$good" >/dev/null 2>"$scratch/again.err"
expect_file_contains "$scratch/again.err" "carried 1 referrer(s)" "only the signature tag is written again"
expect_eq "$(raw_manifest "$release:sha256-${good#sha256:}" | json_get /dev/stdin 'len(v["manifests"])')" 1 "the record listed once"

# The verified-digest record: a passing run attaches its verdict to the
# candidate digest as an OCI artifact (subject = the image), listed under the
# referrers tag schema's "sha256-<hex>" tag; `gate status` says yes for it and
# no for an untested digest; `publish --require-record` refuses the latter.
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

# The artifact, visible with skopeo on the fallback tag.
raw_manifest "$repository:sha256-${good#sha256:}" >"$scratch/index.json" || fail "no referrers tag"
artifact=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["manifests"]; print(m[0]["digest"] if m and m[0].get("artifactType")=="application/vnd.gate.verification.v1+json" else "")' "$scratch/index.json")
[ -n "$artifact" ] || fail "the referrers index lists no gate record: $(cat "$scratch/index.json")"
expect_eq "$(raw_manifest "$repository@$artifact" | python3 -c 'import json,sys; print(json.load(sys.stdin)["subject"]["digest"])')" \
  "$good" "the artifact's subject is the image"

# An untested digest: no.
write_demo_config v2
bad=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b" 2>/dev/null); bad=${bad##*@}
"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$bad" >"$scratch/status" 2>&1
expect_eq "$?" 1 "status of an untested digest"
expect_file_contains "$scratch/status" "emucli: not verified" "says which consumer"
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

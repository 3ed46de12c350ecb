# The audit trail kept in the registry: every tag move gate makes is
# appended to the repository's history (who, when, tag, from, to, the record
# that vouched, why), and `gate history` lists it, newest first. `gate
# revoke` withdraws a digest's verification: `gate status` answers "not
# deployable" and says why, `publish --require-record` and `publish
# --verdict` refuse it, the history shows it; another digest is untouched.
# `gate rollback` moves the tags back to the last verified digest (passing
# over the revoked one), all or none under an injected registry fault;
# `--to` an unverified digest needs --override and a reason, recorded.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
GITHUB_ACTOR=alice "$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/r1" >/dev/null 2>"$scratch/r1.err"
expect_eq "$?" 0 "first release ($(grep -i error "$scratch/r1.err" | head -2))"
d1=$(json_get "$scratch/r1/verdict.json" 'v["candidate"]["digest"]')
"$GATE_BIN" history --config "$scratch/gate.yaml" --json >"$scratch/h1.json" 2>"$scratch/h1.err"
expect_eq "$?" 0 "history ($(cat "$scratch/h1.err"))"
expect_eq "$(json_get "$scratch/h1.json" '[(e["action"], e["tag"], e["from"], e["to"], e["who"]) for e in v]')" \
  "[('publish', 'latest', '', '$d1', 'alice'), ('publish', 'stable', '', '$d1', 'alice')]" "two new tags, by alice"
expect_eq "$(json_get "$scratch/h1.json" 'all(e["record"].startswith("sha256:") and "gate run" in e["why"] for e in v)')" True \
  "each names the record that vouched and why"

# A second verified digest moves both tags: appended, never rewritten.
d2=$(build_emulator second "")
GITHUB_ACTOR=bob GITHUB_REPOSITORY=acme/emulator GITHUB_RUN_ID=42 "$GATE_BIN" run --config "$scratch/gate.yaml" \
  --candidate "$repository@$d2" --report-dir "$scratch/r2" >/dev/null 2>"$scratch/r2.err"
expect_eq "$?" 0 "second release ($(grep -i error "$scratch/r2.err" | head -2))"
"$GATE_BIN" history --config "$scratch/gate.yaml" --json >"$scratch/h2.json" 2>/dev/null
expect_eq "$(json_get "$scratch/h2.json" '[(e["tag"], e["from"], e["to"], e["who"]) for e in v]')" \
  "[('latest', '', '$d1', 'alice'), ('stable', '', '$d1', 'alice'), ('latest', '$d1', '$d2', 'bob'), ('stable', '$d1', '$d2', 'bob')]" \
  "four moves, oldest first"
expect_eq "$(json_get "$scratch/h2.json" 'v[-1]["run"]')" "https://github.com/acme/emulator/actions/runs/42" "the CI run"
"$GATE_BIN" history --config "$scratch/gate.yaml" >"$scratch/h2.txt" 2>/dev/null
expect_eq "$(head -1 "$scratch/h2.txt" | grep -c "publish stable: ${d1:0:19} -> $d2 by bob")" 1 \
  "newest first, readable ($(head -1 "$scratch/h2.txt"))"
# Publishing again moves nothing and writes no entry.
"$GATE_BIN" publish --config "$scratch/gate.yaml" --verdict "$scratch/r2/verdict.json" >/dev/null 2>&1
expect_eq "$("$GATE_BIN" history --config "$scratch/gate.yaml" --json 2>/dev/null | json_get /dev/stdin 'len(v)')" 4 \
  "a publish that moved nothing adds nothing"

# Revoke the second: status, require-record and the verdict all refuse it.
"$GATE_BIN" revoke --config "$scratch/gate.yaml" "$repository@$d2" >/dev/null 2>&1
expect_eq "$?" 2 "revoke without --reason"
"$GATE_BIN" revoke --config "$scratch/gate.yaml" "$repository:latest" --reason x >/dev/null 2>&1
expect_eq "$?" 2 "revoke by tag"
GITHUB_ACTOR=carol "$GATE_BIN" revoke --config "$scratch/gate.yaml" "$repository@$d2" \
  --reason "corrupts items over 4 KiB" >/dev/null 2>"$scratch/revoke.err"
expect_eq "$?" 0 "revoke ($(cat "$scratch/revoke.err"))"
"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$d2" >"$scratch/status2" 2>&1
expect_eq "$?" 1 "status of a revoked digest"
expect_file_contains "$scratch/status2" "revoked on .* by carol: corrupts items over 4 KiB" "says who revoked it and why"
"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$d1" >/dev/null 2>&1
expect_eq "$?" 0 "the first digest is still verified"
before=$(tag_digest "$repository" stable)
write_demo_config v1 "" "    junit: \"reports/*.xml\"" # same config, fresh file
sed -i 's/publish_tags: \[latest, stable\]/publish_tags: [latest, stable, next]/' "$scratch/gate.yaml"
"$GATE_BIN" publish --config "$scratch/gate.yaml" --require-record --candidate "$repository@$d2" >/dev/null 2>"$scratch/p1.err"
expect_eq "$?" 1 "publish --require-record of a revoked digest"
expect_file_contains "$scratch/p1.err" "was revoked" "says why"
"$GATE_BIN" publish --config "$scratch/gate.yaml" --verdict "$scratch/r2/verdict.json" >/dev/null 2>"$scratch/p2.err"
expect_eq "$?" 1 "publish --verdict of a revoked digest"
expect_eq "$(tag_digest "$repository" next)" none "no tag moved to it"
expect_eq "$(tag_digest "$repository" stable)" "$before" "stable where it was"
"$GATE_BIN" history --config "$scratch/gate.yaml" --json >"$scratch/h3.json" 2>/dev/null
expect_eq "$(json_get "$scratch/h3.json" '(v[-1]["action"], v[-1]["to"], v[-1]["who"], v[-1]["why"])')" \
  "('revoke', '$d2', 'carol', 'corrupts items over 4 KiB')" "the history shows the revocation"

# Rollback: back to the last verified digest before the current one (the
# current one, revoked, is where it leaves from).
sed -i 's/publish_tags: \[latest, stable, next\]/publish_tags: [latest, stable]/' "$scratch/gate.yaml"
"$GATE_BIN" rollback --config "$scratch/gate.yaml" --dry-run >"$scratch/dry.out" 2>"$scratch/dry.err"
expect_eq "$?" 0 "rollback --dry-run ($(cat "$scratch/dry.err" | tail -2))"
expect_file_contains "$scratch/dry.out" "would move latest, stable to $d1" "names the last verified digest"
expect_file_contains "$scratch/dry.err" "rollback: $d2 -> $d1" "from the current digest"
expect_eq "$(tag_digest "$repository" latest)" "$d2" "a dry run moves nothing"
# All or none: the registry fails the second tag's write; the first is set back.
start_fault_proxy "$GATE_REGISTRY"
echo '[{"method":"PUT","path":"/manifests/stable$","fault":"500"}]' >"$scratch/rules.json"
sed "s|^  repository: $GATE_REGISTRY/|  repository: $address/|" "$scratch/gate.yaml" >"$scratch/proxied.yaml"
"$GATE_BIN" rollback --config "$scratch/proxied.yaml" >/dev/null 2>"$scratch/fault.err"
expect_eq "$?" 3 "rollback under a registry fault"
expect_eq "$(tag_digest "$repository" latest),$(tag_digest "$repository" stable)" "$d2,$d2" "all or none: both where they were"
echo '[]' >"$scratch/rules.json"
GITHUB_ACTOR=dave "$GATE_BIN" rollback --config "$scratch/gate.yaml" >"$scratch/rb.out" 2>"$scratch/rb.err"
expect_eq "$?" 0 "rollback ($(grep -i error "$scratch/rb.err"))"
expect_eq "$(tag_digest "$repository" latest),$(tag_digest "$repository" stable)" "$d1,$d1" "both tags back on the verified digest"
"$GATE_BIN" history --config "$scratch/gate.yaml" --json >"$scratch/h4.json" 2>/dev/null
expect_eq "$(json_get "$scratch/h4.json" '[(e["action"], e["tag"], e["from"], e["to"], e["who"]) for e in v if e["action"] == "rollback"]')" \
  "[('rollback', 'latest', '$d2', '$d1', 'dave'), ('rollback', 'stable', '$d2', '$d1', 'dave')]" \
  "the history records the rollback"
# --to a revoked digest: refused, unless overridden with a reason.
"$GATE_BIN" rollback --config "$scratch/gate.yaml" --to "$d2" >/dev/null 2>"$scratch/to.err"
expect_eq "$?" 1 "rollback --to an unverified digest"
expect_file_contains "$scratch/to.err" "is not verified (its verification was revoked" "says why"
"$GATE_BIN" rollback --config "$scratch/gate.yaml" --to "$d2" --override >/dev/null 2>&1
expect_eq "$?" 2 "--override without a reason"
expect_eq "$(tag_digest "$repository" latest)" "$d1" "nothing moved"
"$GATE_BIN" rollback --config "$scratch/gate.yaml" --to "$repository@$d2" --override --reason "the fix needs it back" \
  >/dev/null 2>"$scratch/ov.err"
expect_eq "$?" 0 "rollback --to --override --reason ($(grep -i error "$scratch/ov.err"))"
expect_eq "$(tag_digest "$repository" latest)" "$d2" "overridden"
expect_eq "$("$GATE_BIN" history --config "$scratch/gate.yaml" --json 2>/dev/null | json_get /dev/stdin '(v[-1]["action"], v[-1]["to"], v[-1]["why"])')" \
  "('override', '$d2', 'the fix needs it back')" "the override is on the record, with its reason"

# publish --candidate needs the digest's records: an untested image is
# refused, and only --override with a reason publishes it, on the record:
# a note on the digest (gate status: "published by override, not
# verified") and the history's entry.
d3=$(build_emulator third "")
"$GATE_BIN" publish --config "$scratch/gate.yaml" --candidate "$repository@$d3" >/dev/null 2>"$scratch/o1.err"
expect_eq "$?" 1 "publish --candidate of an untested digest"
expect_file_contains "$scratch/o1.err" "is not verified: it has no verification record for emucli" "says why"
"$GATE_BIN" publish --config "$scratch/gate.yaml" --candidate "$repository@$d3" --override >/dev/null 2>&1
expect_eq "$?" 2 "publish --override without a reason"
"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$d3" >"$scratch/s3a" 2>&1
expect_file_contains "$scratch/s3a" "NOT verified against every consumer" "before: not verified, no override"
expect_eq "$(tag_digest "$repository" latest)" "$d2" "nothing moved"
GITHUB_ACTOR=erin "$GATE_BIN" publish --config "$scratch/gate.yaml" --candidate "$repository@$d3" --override \
  --reason "hotfix for CVE-2026-1234, consumers told" >/dev/null 2>"$scratch/o2.err"
expect_eq "$?" 0 "publish --override --reason ($(grep -i error "$scratch/o2.err"))"
expect_eq "$(tag_digest "$repository" latest),$(tag_digest "$repository" stable)" "$d3,$d3" "published by override"
"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$d3" >"$scratch/s3" 2>&1
expect_eq "$?" 1 "status of an overridden digest"
expect_file_contains "$scratch/s3" "published by override, not verified: on .* by erin: hotfix for CVE-2026-1234" \
  "status says it was overridden, by whom and why"
expect_eq "$("$GATE_BIN" history --config "$scratch/gate.yaml" --json 2>/dev/null | json_get /dev/stdin '[(e["action"], e["tag"], e["to"], e["who"], e["why"]) for e in v[-2:]]')" \
  "[('override', 'latest', '$d3', 'erin', 'hotfix for CVE-2026-1234, consumers told'), ('override', 'stable', '$d3', 'erin', 'hotfix for CVE-2026-1234, consumers told')]" \
  "the history records the override"
# A verified digest needs no override: publish --candidate moves the tags.
"$GATE_BIN" publish --config "$scratch/gate.yaml" --candidate "$repository@$d1" >/dev/null 2>"$scratch/o3.err"
expect_eq "$?" 0 "publish --candidate of a verified digest ($(grep -i error "$scratch/o3.err"))"
expect_eq "$(tag_digest "$repository" latest)" "$d1" "the verified digest published"
"$GATE_BIN" status --config "$scratch/gate.yaml" "$repository@$d1" >"$scratch/s1" 2>&1
expect_file_contains "$scratch/s1" "can be deployed" "status of the verified digest"

# The audit trail kept in the registry: every tag move gate makes is
# appended to the repository's history (who, when, tag, from, to, the record
# that vouched, why), and `gate history` lists it, newest first. `gate
# revoke` withdraws a digest's verification: `gate status` answers "not
# deployable" and says why, `publish --require-record` and `publish
# --verdict` refuse it, the history shows it; another digest is untouched.
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

# A candidate that breaks the contract: exit 1, latest unchanged, the
# failing tests named in summary.md and junit.xml.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
"$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/good" >/dev/null 2>&1
expect_eq "$?" 0 "good candidate"
before=$(tag_digest "$repository" latest)

write_demo_config v2
GITHUB_STEP_SUMMARY="$scratch/step-summary.md" "$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/report" >"$scratch/out" 2>"$scratch/err"
expect_eq "$?" 1 "breaking candidate exit code"
expect_eq "$(tag_digest "$repository" latest)" "$before" "latest digest after a blocked run"
expect_eq "$(tag_digest "$repository" stable)" "$before" "stable digest after a blocked run"

for test in test_create_item_returns_201 test_item_ids_keep_their_prefix; do
  expect_file_contains "$scratch/report/summary.md" "$test" "summary.md names the regressed test"
  expect_file_contains "$scratch/report/junit.xml" "name=\"$test\"" "junit.xml names the regressed test"
  expect_file_contains "$scratch/err" "blocked: emucli: test tests.test_items::$test regression" "stderr says which test and why"
done
expect_file_contains "$scratch/report/summary.md" "expected 201, got 200" "summary.md says why"
expect_eq "$(json_get "$scratch/report/verdict.json" 'v["decision"]["verdict"]')" blocked "verdict"
expect_eq "$(json_get "$scratch/report/verdict.json" 'v["published"]')" "[]" "nothing published"
expect_eq "$(json_get "$scratch/report/verdict.json" 'v["consumers"][0]["counts"]["failed"]')" 2 "failed count"
xmllint --noout --schema "$GATE_SCHEMA_DIR/junit-10.xsd" "$scratch/report/junit.xml" 2>/dev/null || fail "junit.xml invalid"
grep -q '<failure' "$scratch/report/junit.xml" || fail "junit.xml has no <failure>"
expect_file_contains "$scratch/step-summary.md" "test_create_item_returns_201" "GitHub step summary gets the summary"

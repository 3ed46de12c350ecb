# A good candidate passes and is published: every publish tag points at the
# exact digest that was tested (read back with skopeo), reports are complete.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
"$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/report" >"$scratch/out" 2>"$scratch/err"
expect_eq "$?" 0 "gate run exit code"

verdict="$scratch/report/verdict.json"
tested=$(json_get "$verdict" 'v["candidate"]["digest"]')
case "$tested" in sha256:*) ;; *) fail "no candidate digest in verdict.json: $tested" ;; esac
expect_eq "$(tag_digest "$repository" latest)" "$tested" "latest digest in the registry"
expect_eq "$(tag_digest "$repository" stable)" "$tested" "stable digest in the registry"
expect_eq "$(tag_digest "$repository" "pr-v1-$$")" "$tested" "candidate tag digest"
expect_eq "$(json_get "$verdict" 'v["exit_code"]')" 0 "verdict exit_code"
expect_eq "$(json_get "$verdict" 'v["decision"]["verdict"]')" passed "verdict decision"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["commit"]')" "$(git -C "$GATE_BUILD_DIR/demo/consumer" rev-parse main)" "consumer commit"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["counts"]["passed"]')" 6 "tests passed"
expect_eq "$(json_get "$verdict" '[p["tag"] for p in v["published"]]')" "['latest', 'stable']" "published tags"
expect_eq "$(json_get "$verdict" 'v["published"][0]["previous_digest"]')" None "previous digest of a new tag"
expect_eq "$(json_get "$verdict" 'sorted(s["name"] for s in v["stages"])')" \
  "['build', 'checkout:emucli', 'publish', 'push', 'test:emucli']" "stage timings"
xmllint --noout --schema "$GATE_SCHEMA_DIR/junit-10.xsd" "$scratch/report/junit.xml" 2>"$scratch/xmllint" ||
  fail "junit.xml is not valid against junit-10.xsd: $(cat "$scratch/xmllint")"
expect_file_contains "$scratch/report/summary.md" "PASSED" "summary banner"
expect_file_contains "$scratch/report/logs/emucli.log" "6 passed" "consumer log kept"
expect_file_contains "$scratch/err" "\[emucli\] " "consumer output streamed with its prefix"

# Build and checkout overlap: checkout starts before the build ends.
overlap=$(json_get "$verdict" '(lambda s: s["checkout:emucli"]["start_seconds"] < s["build"]["start_seconds"] + s["build"]["seconds"])({x["name"]: x for x in v["stages"]})')
expect_eq "$overlap" True "checkout runs while the build runs"

# A second publish of a new candidate records the previous digest it moved from.
sed -i "s/pr-v1-$$/pr-v1b-$$/; s/REVISION: \"/REVISION: \"second-/" "$scratch/gate.yaml"
"$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/report2" >/dev/null 2>&1
expect_eq "$?" 0 "second run exit code"
second=$(json_get "$scratch/report2/verdict.json" 'v["candidate"]["digest"]')
[ "$second" != "$tested" ] || fail "the second candidate should have its own digest"
expect_eq "$(tag_digest "$repository" latest)" "$second" "latest moved to the second tested digest"
expect_eq "$(json_get "$scratch/report2/verdict.json" 'v["published"][0]["previous_digest"]')" "$tested" "previous digest recorded"
[ -z "$(containers_of_repository)" ] || fail "containers left behind: $(containers_of_repository)"

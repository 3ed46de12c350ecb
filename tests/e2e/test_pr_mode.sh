# PR mode: `gate run --changed-since BASE` runs only when the change touches
# the config's `paths`; otherwise exit 0, nothing built, and a verdict that
# says it was skipped and why.
source "$(dirname "$0")/lib.sh"

repo="$scratch/image-repo"
mkdir -p "$repo/image" "$repo/docs"
cp "$GATE_BUILD_DIR"/demo/image/* "$repo/image/"
echo "docs" >"$repo/docs/README.md"
git_quiet init -q "$repo"
git_quiet -C "$repo" add -A
git_quiet -C "$repo" commit -q -m base
git_quiet -C "$repo" checkout -q -b pr
cat >"$scratch/gate.yaml" <<YAML
version: 1
paths: ["image/**", "Dockerfile"]
image:
  repository: $repository
  context: $repo/image
  build_args: {CONTRACT: v1, REVISION: "pr-$$"}
consumers:
  - name: emucli
    repo: $GATE_BUILD_DIR/demo/consumer
    ref: main
    run: ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=reports/junit.xml", "tests"]
    env: {EMULATOR_IMAGE: "\${CANDIDATE_REF}"}
    junit: "reports/*.xml"
YAML

# A change to docs only: skipped.
echo "more docs" >>"$repo/docs/README.md"
git_quiet -C "$repo" commit -q -am "docs"
"$GATE_BIN" run --dry-run --changed-since main --config "$scratch/gate.yaml" --report-dir "$scratch/r1" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "docs-only change exit"
expect_eq "$(json_get "$scratch/r1/verdict.json" 'v["skipped"]')" True "verdict says skipped"
expect_eq "$(json_get "$scratch/r1/verdict.json" 'v["changes"]["files_changed"], v["changes"]["matched"]')" "1 []" "what changed"
expect_file_contains "$scratch/r1/summary.md" "SKIPPED" "summary banner"
expect_file_contains "$scratch/err" "skipped: no relevant change: 1 file(s) changed since main" "says why"
grep -q '^\[build\]' "$scratch/err" && fail "a skipped run built the image"
expect_eq "$(json_get "$scratch/r1/verdict.json" 'v["consumers"]')" "[]" "no consumer ran"

# A change under image/: the gate runs.
echo "# touched" >>"$repo/image/Dockerfile"
git_quiet -C "$repo" commit -q -am "image change"
"$GATE_BIN" run --dry-run --changed-since main --config "$scratch/gate.yaml" --report-dir "$scratch/r2" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "relevant change exit ($(tail -n 2 "$scratch/err"))"
expect_eq "$(json_get "$scratch/r2/verdict.json" 'v["skipped"], v["changes"]["matched"]')" "False ['image/Dockerfile']" "what matched"
expect_eq "$(json_get "$scratch/r2/verdict.json" 'v["consumers"][0]["status"]')" passed "the consumer ran"

# Against a base the branch has merged since: only the branch's own changes count.
git_quiet -C "$repo" checkout -q main
echo "main moves on" >>"$repo/docs/README.md"
git_quiet -C "$repo" commit -q -am "main docs"
git_quiet -C "$repo" checkout -q pr
"$GATE_BIN" run --dry-run --changed-since main --config "$scratch/gate.yaml" --report-dir "$scratch/r3" >/dev/null 2>&1
expect_eq "$(json_get "$scratch/r3/verdict.json" 'v["changes"]["files_changed"]')" 2 "changes counted from the merge base"

# A base that names nothing: a usage error.
"$GATE_BIN" run --changed-since no-such-branch --config "$scratch/gate.yaml" --report-dir "$scratch/r4" >/dev/null 2>"$scratch/err"
expect_eq "$?" 2 "unknown base"
expect_file_contains "$scratch/err" "--changed-since no-such-branch: no such commit" "unknown base message"

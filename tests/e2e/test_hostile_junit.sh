# Hostile JUnit from a consumer: 30,000 nested suites are refused with a
# reason (no crash, a verdict, nothing left in the cache); a test name with a
# newline, a workflow command, ANSI and BEL escapes, HTML and markdown keeps
# every line gate prints one line, junit.xml valid XML 1.0 (xmllint, schema),
# and summary.md free of rendered HTML, links and broken <details>; a test
# named twice, failing once, is one failing test.
source "$(dirname "$0")/lib.sh"

digest=$(build_emulator hostile "")
[ -n "$digest" ] || fail "build the candidate: $(cat "$scratch/build-hostile.err")"
make_repo "$scratch/app"
cat >"$scratch/app/deep.py" <<'PY'
import os
os.makedirs("reports", exist_ok=True)
with open("reports/junit.xml", "w") as f:
    f.write("<testsuites>" + "<testsuite name='s'>" * 30000 + "<testcase name='t'/>" + "</testsuite>" * 30000 + "</testsuites>")
PY
cat >"$scratch/app/names.py" <<'PY'
import os
os.makedirs("reports", exist_ok=True)
hostile = ("test_a&#10;::error file=gate.yaml,line=1::owned by a test name &#13;::warning::cr "
           "&#27;[31mred&#27;[0m &#7;bell &lt;img src=x onerror=alert(1)&gt; &lt;/details&gt; "
           "[link](http://evil.example) http://auto.example | cell `tick`")
with open("reports/junit.xml", "w") as f:
    f.write('<testsuite name="hostile"><testcase classname="t" name="%s">'
            '<failure message="%s">trace &#27;[1m&lt;/details&gt;</failure></testcase>'
            '<testcase classname="t" name="ok"/></testsuite>' % (hostile, hostile))
PY
# The same test named twice, failing first: the pass must not hide the failure.
cat >"$scratch/app/twice.py" <<'PY'
import os
os.makedirs("reports", exist_ok=True)
with open("reports/junit.xml", "w") as f:
    f.write('<testsuite name="twice"><testcase classname="t" name="same"><failure message="broken by the candidate"/>'
            '</testcase><testcase classname="t" name="same"/><testcase classname="t" name="other"/></testsuite>')
PY
# A committed symlink out of the checkout: what it points at is neither read
# as a report nor deleted as a stale one.
mkdir -p "$scratch/outside"
echo '<testsuite><testcase name="forged_pass"/></testsuite>' >"$scratch/outside/canary.xml"
ln -s "$scratch/outside" "$scratch/app/out"
git_quiet -C "$scratch/app" add -A && git_quiet -C "$scratch/app" commit -q -m reports
cat >"$scratch/gate.yaml" <<YAML
version: 1
image: {repository: $repository, publish_tags: [latest]}
consumers:
  - name: deep
    repo: $scratch/app
    ref: main
    run: "python3 deep.py"
    junit: "reports/*.xml"
  - name: names
    repo: $scratch/app
    ref: main
    run: "python3 names.py"
    junit: "reports/*.xml"
  - name: twice
    repo: $scratch/app
    ref: main
    run: "python3 twice.py"
    junit: "reports/*.xml"
  - name: escape
    repo: $scratch/app
    ref: main
    run: "true"
    junit: "out/*.xml"
YAML
"$GATE_BIN" test --config "$scratch/gate.yaml" --consumer deep --candidate "$repository@$digest" --report-dir "$scratch/d" \
  --cache-dir "$scratch/cache" >/dev/null 2>"$scratch/deep.err"
expect_eq "$?" 1 "a 30,000-deep report blocks, without a crash ($(tail -n 2 "$scratch/deep.err"))"
[ -s "$scratch/d/verdict.json" ] && expect_eq "$(json_get "$scratch/d/verdict.json" 'v["consumers"][0]["status"]')" error "status"
json_get "$scratch/d/verdict.json" '" ".join(v["consumers"][0]["reasons"])' 2>/dev/null | grep -q "nested more than 64 deep" ||
  fail "the deep report is not refused with its reason"
[ -z "$(ls -A "$scratch/cache/worktrees" 2>/dev/null)" ] || fail "worktrees left in the cache: $(ls "$scratch/cache/worktrees")"

"$GATE_BIN" test --config "$scratch/gate.yaml" --consumer twice --candidate "$repository@$digest" --report-dir "$scratch/t" \
  --cache-dir "$scratch/cache" >/dev/null 2>"$scratch/twice.err"
expect_eq "$?" 1 "a failing test named again by a passing case blocks ($(tail -n 2 "$scratch/twice.err"))"
expect_eq "$(json_get "$scratch/t/verdict.json" '[t["outcome"] for t in v["consumers"][0]["tests"] if t["name"] == "same"]')" \
  "['regression']" "the twice-named test: one test, a regression"
grep -q "test t::same regression: broken by the candidate" "$scratch/twice.err" || fail "the reason does not name the failure"

"$GATE_BIN" test --config "$scratch/gate.yaml" --consumer escape --candidate "$repository@$digest" --report-dir "$scratch/e" \
  --cache-dir "$scratch/cache" >/dev/null 2>"$scratch/escape.err"
expect_eq "$?" 1 "a junit glob through a symlink out of the checkout blocks"
json_get "$scratch/e/verdict.json" '" ".join(v["consumers"][0]["reasons"])' 2>/dev/null | grep -q "resolves outside the checkout" ||
  fail "the symlinked report is not refused: $(json_get "$scratch/e/verdict.json" 'v["consumers"][0]["reasons"]' 2>&1)"
json_get "$scratch/e/verdict.json" '[t["name"] for t in v["consumers"][0]["tests"]]' | grep -q forged_pass &&
  fail "the report outside the checkout was read"
[ -f "$scratch/outside/canary.xml" ] || fail "a file outside the checkout was deleted as a stale report"

GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY="$scratch/step-summary.md" GITHUB_OUTPUT="$scratch/github-output" \
  "$GATE_BIN" test --config "$scratch/gate.yaml" --consumer names --candidate "$repository@$digest" --report-dir "$scratch/r" \
  --cache-dir "$scratch/cache" >"$scratch/out" 2>"$scratch/err"
expect_eq "$?" 1 "hostile names block ($(tail -n 2 "$scratch/err"))"

# Every line gate prints is one line: no workflow command of the test's own.
grep -n '^::' "$scratch/err" && fail "stderr has a line that starts a workflow command"
grep -qP '\x1b|\x07|\r' "$scratch/err" && fail "stderr carries raw control characters"
grep -q 'test_a\\n::error file=gate.yaml' "$scratch/err" || fail "the newline in the name is not shown escaped: $(grep -m1 test_a "$scratch/err")"
# On stdout, the annotations gate writes itself: one per blocking test, escaped.
expect_eq "$(grep -c '^::' "$scratch/out")" 1 "workflow commands on stdout (one, for the blocking test)"
grep '^::error' "$scratch/out" | grep -q 'test_a%0A::error file=gate.yaml' || fail "annotation not escaped: $(grep '^::' "$scratch/out")"

# junit.xml is XML 1.0 and valid against the schema.
xmllint --noout "$scratch/r/junit.xml" 2>"$scratch/xmllint" || fail "junit.xml is not XML: $(head -3 "$scratch/xmllint")"
xmllint --noout --schema "$GATE_SCHEMA_DIR/junit-10.xsd" "$scratch/r/junit.xml" 2>/dev/null || fail "junit.xml fails the schema"
grep -q '\\x1B\[31mred' "$scratch/r/junit.xml" || fail "the ESC in the name is not marked in junit.xml"

# summary.md, rendered as GitHub does (cmark-gfm, raw HTML allowed): only gate's own HTML.
for md in "$scratch/r/summary.md" "$scratch/step-summary.md"; do
  cmark-gfm --unsafe -e table -e autolink "$md" >"$scratch/rendered.html"
  grep -q '<img' "$scratch/rendered.html" && fail "$md: an <img> from a test name is rendered"
  grep -q '<a ' "$scratch/rendered.html" && fail "$md: a link from a test name is rendered"
  expect_eq "$(grep -o '</details>' "$scratch/rendered.html" | wc -l)" "$(grep -o '<details>' "$scratch/rendered.html" | wc -l)" \
    "$md: <details> balanced"
  grep -qP '\x1b|\x07' "$md" && fail "$md carries raw control characters"
  grep -q 'owned by a test name' "$scratch/rendered.html" || fail "$md: the failing test is not shown at all"
done
true

# report.html, opened in headless Chromium (Debian's): the DOM holds the
# verdict banner, the timeline with the stages and the candidate's
# container, and the failed test's name and message; the screenshot shows
# the red banner, the stage bars and the container bar (their colours,
# counted in the PNG's pixels).
source "$(dirname "$0")/lib.sh"

command -v chromium >/dev/null || { fail "chromium is not installed (scripts/bootstrap installs it)"; exit 1; }
write_demo_config v2
"$GATE_BIN" run --dry-run --config "$scratch/gate.yaml" --report-dir "$scratch/r" >/dev/null 2>&1
expect_eq "$?" 1 "the breaking candidate"
html="$scratch/r/report.html"
[ -s "$html" ] || fail "no report.html"
grep -qE '<script|https?://' "$html" && fail "report.html is not self-contained (script or network reference)"
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
        --disable-component-update --disable-sync --user-data-dir="$scratch/chrome")
timeout 120 "${chrome[@]}" --dump-dom "file://$html" >"$scratch/dom.html" 2>/dev/null
grep -q '<div class="banner fail" id="verdict">BLOCKED</div>' "$scratch/dom.html" || fail "no blocked banner in the DOM"
python3 - "$scratch/dom.html" <<'PY' || fail "the rendered timeline is incomplete"
import re, sys
dom = open(sys.argv[1]).read()
svg = re.search(r'<svg id="timeline".*?</svg>', dom, re.S)
assert svg, "no timeline"
rects = re.findall(r'<rect class="(\w+)"', svg.group(0))
assert rects.count("stage") == 4, rects
assert rects.count("container") >= 1, rects
PY
expect_file_contains "$scratch/dom.html" "tests.test_items::test_create_item_returns_201" "the failed test's name"
expect_file_contains "$scratch/dom.html" "expected 201, got 200" "its message"
timeout 120 "${chrome[@]}" --window-size=1300,1600 --screenshot="$scratch/shot.png" "file://$html" >/dev/null 2>&1
[ -s "$scratch/shot.png" ] || fail "no screenshot"
colours=$(python3 "$tools/png_colors.py" "$scratch/shot.png" cf222e 0969da bf8700)
python3 -c '
import sys
counts = dict(kv.split("=") for kv in sys.argv[1].split())
assert int(counts["cf222e"]) > 10000, "red banner"
assert int(counts["0969da"]) > 2000, "stage bars"
assert int(counts["bf8700"]) > 200, "container bar"' "$colours" || fail "the screenshot lacks what it should show: $colours"

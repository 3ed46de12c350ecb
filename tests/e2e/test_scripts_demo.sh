# What scripts/demo runs inside the bootstrap: the breaking candidate is
# blocked, then the good one is published and latest is read back equal to
# the tested digest (the script checks that itself and exits non-zero if not).
source "$(dirname "$0")/lib.sh"

GATE_ROOT="$GATE_SOURCE_DIR" GATE_DEMO_REPORTS="$scratch/reports" \
  bash "$GATE_SOURCE_DIR/scripts/lib/demo-run" >"$scratch/out" 2>&1
expect_eq "$?" 0 "demo exit code"
expect_file_contains "$scratch/out" "demo: latest is the tested candidate" "demo's own read-back"
tested=$(json_get "$scratch/reports/good/verdict.json" 'v["candidate"]["digest"]')
expect_eq "$(tag_digest "$GATE_REGISTRY/acme/emulator" latest)" "$tested" "latest read back here too"
expect_eq "$(json_get "$scratch/reports/broken/verdict.json" 'v["exit_code"]')" 1 "the broken candidate was blocked"

# scripts/demo installs what the demo needs and nothing the tests alone use;
# scripts/test installs all of it. Read from bootstrap's own lists (the
# arrays it installs from), for each script's mode.
grep -q 'bootstrap" --demo --' "$GATE_SOURCE_DIR/scripts/demo" || fail "scripts/demo does not bootstrap in demo mode"
demo=$(bash "$GATE_SOURCE_DIR/scripts/bootstrap" --demo --list-packages) || fail "bootstrap --demo --list-packages"
full=$(bash "$GATE_SOURCE_DIR/scripts/bootstrap" --list-packages) || fail "bootstrap --list-packages"
line() { sed -n "s/^$1: //p" <<<"$2"; }
for p in chromium lighttpd apache2-utils golang-go skopeo clang clang-format libgtest-dev libpugixml-dev rsync libxml2-utils cmark-gfm; do
  if grep -qw -- "$p" <<<"$(line apt "$demo")"; then fail "scripts/demo would install $p, which only the tests use"; fi
  if ! grep -qw -- "$p" <<<"$(line apt "$full")"; then fail "scripts/test would not install $p"; fi
done
expect_eq "$(line backports "$demo")" "libgit2-dev" "scripts/demo's backports"
expect_eq "$(line npm "$demo")" "" "scripts/demo's npm packages"
for p in $(line apt "$demo"); do
  if ! grep -qw -- "$p" <<<"$(line apt "$full")"; then fail "scripts/test lacks the demo's $p"; fi
done
if grep -q skopeo "$GATE_SOURCE_DIR/scripts/lib/demo-run"; then fail "the demo reads the registry with skopeo, a test-only package"; fi

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

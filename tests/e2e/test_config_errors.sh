# Every malformed config in bad-configs/ exits 2 from both `validate` and
# `run`, naming file:line:column and the reason on its first line
# ("# expect: LINE:COL text"), before anything is built or published.
source "$(dirname "$0")/lib.sh"

dir="$(dirname "$0")/bad-configs"
count=0
for config in "$dir"/*.yaml; do
  count=$((count + 1))
  expect=$(head -n 1 "$config" | sed 's/^# expect: //')
  position=${expect%% *}
  text=${expect#* }
  for command in validate run; do
    "$GATE_BIN" "$command" --config "$config" >"$scratch/out" 2>"$scratch/err"
    rc=$?
    expect_eq "$rc" 2 "$command $(basename "$config") exit code"
    expect_file_contains "$scratch/err" "gate: error: $config:$position: " "$command $(basename "$config") position"
    grep -qF -- "$text" "$scratch/err" || fail "$command $(basename "$config"): reason '$text' not in: $(cat "$scratch/err")"
    if grep -q '^\[build\]' "$scratch/err"; then fail "$command $(basename "$config"): a build started"; fi
  done
done
[ "$count" -ge 10 ] || fail "only $count malformed configs (want at least 10)"

# A missing file and a bad command line are usage errors too.
"$GATE_BIN" validate --config "$scratch/nope.yaml" 2>"$scratch/err"
expect_eq "$?" 2 "missing config file"
expect_file_contains "$scratch/err" "cannot read config '$scratch/nope.yaml'" "missing config message"
"$GATE_BIN" run --no-such-flag 2>/dev/null
expect_eq "$?" 2 "unknown flag"
"$GATE_BIN" 2>/dev/null
expect_eq "$?" 2 "no subcommand"
# And the bundled suites are valid.
for config in "$GATE_SOURCE_DIR"/suites/demo/*.yaml; do
  "$GATE_BIN" validate --config "$config" >/dev/null 2>"$scratch/err" || fail "$config is not valid: $(cat "$scratch/err")"
done

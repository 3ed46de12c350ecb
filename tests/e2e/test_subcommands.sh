# The stages one by one, as a workflow that splits them would call them:
# build -> checkout -> test --candidate -> publish --candidate REPO@DIGEST.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
pushed=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/report" 2>"$scratch/err")
expect_eq "$?" 0 "build exit code"
case "$pushed" in
  "$repository:pr-v1-$$@sha256:"*) ;;
  *) fail "build printed '$pushed', expected $repository:pr-v1-$$@sha256:..." ;;
esac
digest=${pushed##*@}
expect_eq "$(tag_digest "$repository" "pr-v1-$$")" "$digest" "the printed digest is the registry's"

checkout=$("$GATE_BIN" checkout --config "$scratch/gate.yaml" 2>/dev/null)
expect_eq "$?" 0 "checkout exit code"
expect_eq "$checkout" "emucli $(git -C "$GATE_BUILD_DIR/demo/consumer" rev-parse main)" "checkout output"

"$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$digest" --report-dir "$scratch/test" >/dev/null 2>&1
expect_eq "$?" 0 "test exit code"
expect_eq "$(json_get "$scratch/test/verdict.json" 'v["candidate"]["digest"]')" "$digest" "tested digest"
expect_eq "$(tag_digest "$repository" latest)" none "test never publishes"

"$GATE_BIN" publish --config "$scratch/gate.yaml" --candidate "$repository:pr-v1-$$" 2>"$scratch/err"
expect_eq "$?" 2 "publish by tag is refused"
expect_file_contains "$scratch/err" "give the tested digest" "says why"
"$GATE_BIN" publish --config "$scratch/gate.yaml" --candidate "$repository@sha256:$(printf '0%.0s' $(seq 64))" 2>"$scratch/err"
expect_eq "$?" 1 "publish of a digest without a record"
"$GATE_BIN" publish --override --reason "try it" --config "$scratch/gate.yaml" \
  --candidate "$repository@sha256:$(printf '0%.0s' $(seq 64))" 2>"$scratch/err"
expect_eq "$?" 3 "publish --override of a digest the registry lacks"
expect_eq "$(tag_digest "$repository" latest)" none "nothing published for an unknown digest"

out=$("$GATE_BIN" publish --config "$scratch/gate.yaml" --candidate "$repository@$digest" 2>/dev/null)
expect_eq "$?" 0 "publish exit code"
expect_eq "$(tag_digest "$repository" latest)" "$digest" "latest after publish"
expect_eq "$(tag_digest "$repository" stable)" "$digest" "stable after publish"
case "$out" in *"$repository:latest $digest (was new)"*) ;; *) fail "publish output: $out" ;; esac

# A test against a candidate of another repository is a usage error.
"$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$GATE_REGISTRY/other/repo@$digest" 2>/dev/null
expect_eq "$?" 2 "candidate from another repository"

# Compare-and-swap: two gates publishing different candidates at once with
# --expect-current: exactly one wins, the other exits 1 and says why, and
# the tags hold the winner's digest. A stale expectation moves nothing. In a
# full run, a release published while the consumers were being tested is
# never overwritten.
source "$(dirname "$0")/lib.sh"

repo="$GATE_REGISTRY/e2e/cas-$$"
old=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "e2e/cas-$$" old) || fail "push old"
write_publish_config "$repo" "[latest, stable]"
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$repo@$old" >/dev/null 2>&1 || fail "initial publish"

rounds=${CAS_ROUNDS:-8}
for round in $(seq 1 "$rounds"); do
  base=$(tag_digest "$repo" latest)
  a=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "e2e/cas-$$" "a$round")
  b=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "e2e/cas-$$" "b$round")
  "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$repo@$a" --expect-current "$base" \
    >"$scratch/a.out" 2>"$scratch/a.err" &
  pa=$!
  "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$repo@$b" --expect-current "$base" \
    >"$scratch/b.out" 2>"$scratch/b.err" &
  pb=$!
  wait $pa; ra=$?
  wait $pb; rb=$?
  if [ "$ra" = 0 ] && [ "$rb" = 1 ]; then winner=$a loser=b
  elif [ "$ra" = 1 ] && [ "$rb" = 0 ]; then winner=$b loser=a
  else
    fail "round $round: exits $ra and $rb, want exactly one 0 and one 1 ($(cat "$scratch/a.err" "$scratch/b.err" | grep error))"
    continue
  fi
  expect_eq "$(tag_digest "$repo" latest)" "$winner" "round $round: latest holds the winner"
  expect_eq "$(tag_digest "$repo" stable)" "$winner" "round $round: stable holds the winner"
  grep -Eq "another (run|release) (was )?published" "$scratch/$loser.err" || fail "round $round: the loser does not say why: $(cat "$scratch/$loser.err")"
done

# A stale expectation: exit 1, nothing moved, the message names both digests.
current=$(tag_digest "$repo" latest)
c=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "e2e/cas-$$" c)
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$repo@$c" --expect-current "$old" >/dev/null 2>"$scratch/err"
expect_eq "$?" 1 "stale expectation"
expect_file_contains "$scratch/err" "points at $current, not at $old" "stale expectation message"
expect_eq "$(tag_digest "$repo" latest)" "$current" "latest untouched by a refused publish"
# --expect-current none: only where the tag does not exist yet.
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$repo@$c" --expect-current latest=none >/dev/null 2>&1
expect_eq "$?" 1 "expect none on an existing tag"
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$repo@$c" --expect-current "$current" >/dev/null 2>&1
expect_eq "$?" 0 "a fresh expectation publishes"
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$repo@$c" --expect-current "latest=not-a-digest" >/dev/null 2>&1
expect_eq "$?" 2 "a malformed expectation is a usage error"

# A full run: while the consumer runs, someone publishes another release.
# compare_and_swap (the default) refuses to overwrite it: exit 1.
other=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "e2e/demo-cas-$$" other)
cat >"$scratch/other.yaml" <<YAML
version: 1
image: {repository: $GATE_REGISTRY/e2e/demo-cas-$$, publish_tags: [latest]}
consumers: [{name: none, repo: /nonexistent, run: "true"}]
YAML
repository="$GATE_REGISTRY/e2e/demo-cas-$$"
write_demo_config v1 "[\"$GATE_BIN\", \"-q\", \"publish\", \"--override\", \"--reason\", \"another release\", \"--config\", \"$scratch/other.yaml\", \"--candidate\", \"$repository@$other\"]" " "
sed -i 's/publish_tags: \[latest, stable\]/publish_tags: [latest]/' "$scratch/gate.yaml"
"$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/run1" >/dev/null 2>"$scratch/err"
expect_eq "$?" 1 "run whose tag moved during testing"
expect_eq "$(tag_digest "$repository" latest)" "$other" "the other release is kept"
expect_file_contains "$scratch/err" "another release was published meanwhile" "says why"
expect_eq "$(json_get "$scratch/run1/verdict.json" 'v["publish_tags_seen"]["latest"]')" None "verdict records what it saw"
# With compare_and_swap: false the gate publishes over it.
sed -i 's/publish_tags: \[latest\]/publish_tags: [latest]\n  compare_and_swap: false/' "$scratch/gate.yaml"
"$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/run2" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "run with compare_and_swap: false"
expect_eq "$(tag_digest "$repository" latest)" "$(json_get "$scratch/run2/verdict.json" 'v["candidate"]["digest"]')" "published over it"

# Setup cache: what setup makes (cache_paths) is restored on the next run of
# the same consumer commit and setup commands instead of running setup
# again; a different cache_key runs it again.
source "$(dirname "$0")/lib.sh"

candidate=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "${repository#$GATE_REGISTRY/}" candidate)
export SETUP_COUNT="$scratch/setup-count"
cat >"$scratch/gate.yaml" <<YAML
version: 1
image: {repository: $repository}
consumers:
  - name: cached
    repo: $GATE_BUILD_DIR/demo/consumer
    ref: main
    setup: "mkdir -p .deps/lib && echo built-once > .deps/lib/marker && echo run >> \$SETUP_COUNT"
    cache_paths: [.deps]
    cache_key: "v1"
    run: "cat .deps/lib/marker"
YAML
for round in 1 2 3; do
  "$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$candidate" --cache-dir "$scratch/cache" \
    --report-dir "$scratch/r$round" >/dev/null 2>"$scratch/err$round"
  expect_eq "$?" 0 "round $round exit ($(grep error "$scratch/err$round"))"
  expect_file_contains "$scratch/r$round/logs/cached.log" "built-once" "round $round: setup's output is there"
done
expect_eq "$(wc -l <"$SETUP_COUNT")" 1 "setup ran once for three runs"
expect_eq "$(json_get "$scratch/r1/verdict.json" 'v["consumers"][0]["setup_cache"]')" stored "first run stores"
expect_eq "$(json_get "$scratch/r3/verdict.json" 'v["consumers"][0]["setup_cache"]')" hit "later runs restore"
expect_file_contains "$scratch/err3" "setup restored from the cache" "says so"
sed -i 's/cache_key: "v1"/cache_key: "v2"/' "$scratch/gate.yaml"
"$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$candidate" --cache-dir "$scratch/cache" \
  --report-dir "$scratch/r4" >/dev/null 2>&1
expect_eq "$(wc -l <"$SETUP_COUNT")" 2 "a new cache_key runs setup again"

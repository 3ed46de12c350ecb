# The fan-in of shards too large for their verdicts to name every test
# (over 10,000 each: verdict.json counts the rest, and writes them whole to
# omitted-tests.jsonl beside it). `gate merge` still judges the whole
# consumer: tests that vanish from collection at the same commit block it,
# the timing store learns every test, and a shard without its omitted
# tests is refused (exit 3), not merged blind.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
pushed=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b" 2>/dev/null)
candidate="$repository@${pushed##*@}"

# Go: each package's tests compiled once (prebuild), 20,405 top-level tests.
suite="$scratch/big"
mkdir -p "$suite/a" "$suite/b" "$suite/c"
printf 'module example.com/big\n\ngo 1.19\n' >"$suite/go.mod"
for p in a b; do
  { printf 'package %s\n\nimport "testing"\n\n' "$p"
    for i in $(seq 0 10199); do printf 'func Test%s%d(t *testing.T) {}\n' "${p^^}" "$i"; done; } >"$suite/$p/${p}_test.go"
done
# Package c's tests exist unless the build drops them (an environment
# variable: the same commit collects fewer tests).
{ printf '//go:build !drop\n\npackage c\n\nimport "testing"\n\n'
  for i in 1 2 3 4 5; do printf 'func TestC%d(t *testing.T) {}\n' "$i"; done; } >"$suite/c/c_test.go"
printf 'package c\n' >"$suite/c/c.go"
make_repo "$suite" >/dev/null 2>&1 || true
git_quiet -C "$suite" add -A && git_quiet -C "$suite" commit -q -m suite
export GOCACHE="$scratch/gocache" GOPATH="$scratch/gopath"
for name in big drop; do
  cat >"$scratch/$name.yaml" <<YAML
version: 1
image: {repository: $repository, publish_tags: [latest]}
consumers:
  - name: big
    repo: $suite
    runner: go
    prebuild: true
    run: ["go"]
    tests: ["./..."]
    shards: 2
    parallel: 2
    env: {GOFLAGS: "$([ $name = drop ] && echo -tags=drop)"}
YAML
done

run_shards() {  # name config
  local pids=() k
  for k in 1 2; do
    "$GATE_BIN" test --config "$scratch/$2.yaml" --shard "$k/2" --candidate "$candidate" \
      --cache-dir "$scratch/cache-$k" --report-dir "$scratch/$1/shard$k" >"$scratch/$1-$k.out" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}
merge() {  # name config
  "$GATE_BIN" merge --config "$scratch/$2.yaml" --cache-dir "$scratch/cache-merge" --report-dir "$scratch/$1/merged" \
    "$scratch/$1/shard1" "$scratch/$1/shard2" >"$scratch/$1-merge.out" 2>&1
}

run_shards first big
for k in 1 2; do
  omitted=$(json_get "$scratch/first/shard$k/verdict.json" 'v["consumers"][0]["tests_omitted"]')
  [ "${omitted:-0}" -gt 0 ] || fail "shard $k's verdict names every test (omitted: '$omitted'): the case needs a summarised one"
  expect_eq "$(wc -l <"$scratch/first/shard$k/omitted-tests.jsonl")" "$omitted" "shard $k: its omitted tests, one line each"
done
merge first big
expect_eq "$?" 0 "the first merge passes ($(grep error "$scratch/first-merge.out" | head -2))"
expect_eq "$(json_get "$scratch/first/merged/verdict.json" 'v["consumers"][0]["counts"]["tests"]')" 20405 "the merged verdict counts every test"
expect_eq "$(grep -c '"test"' "$scratch/cache-merge/timings/big.json")" 20405 "the timing store learnt every test"

# Five tests vanish from collection at the same commit: only the whole
# consumer, compared with its last passing run, can see it.
run_shards drop drop
merge drop drop
expect_eq "$?" 1 "tests missing across summarised shards block ($(grep error "$scratch/drop-merge.out" | head -2))"
expect_eq "$(json_get "$scratch/drop/merged/verdict.json" '" ".join(sorted(m.split("::")[-1].split("/")[-1].split(".")[-1] for m in v["consumers"][0]["missing"]))')" \
  "TestC1 TestC2 TestC3 TestC4 TestC5" "the missing tests are named"

# A shard whose omitted tests did not come along (an artifact upload that
# took verdict.json only): refused, never merged blind.
rm "$scratch/first/shard2/omitted-tests.jsonl"
merge first big
expect_eq "$?" 3 "a shard without its omitted tests"
expect_file_contains "$scratch/first-merge.out" "shard2/omitted-tests.jsonl: missing" "names the file"

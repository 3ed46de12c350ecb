# Test durations shared through the registry (pipeline/shared_timings.h):
# every job has its own cache, as on hosted CI runners, so the registry is
# the only way a duration reaches the next run. The plan pins the shared
# store by digest, each shard reads exactly that digest and says so in its
# verdict, and merge refuses shards planned from different stores; two
# fan-ins at once keep both consumers' durations.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
pushed=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b" 2>/dev/null)
digest=${pushed##*@}
candidate="$repository@$digest"
head -n "$(grep -n '^consumers:' "$scratch/gate.yaml" | cut -d: -f1)" "$scratch/gate.yaml" >"$scratch/head.yaml"

make_suite() {  # name
  local suite="$scratch/$1"
  mkdir -p "$suite/tests"
  for t in 1 2 3 4 5 6; do echo "def test_${1}_$t(): import time; time.sleep(0.0$t)"; done >"$suite/tests/test_a.py"
  make_repo "$suite" >/dev/null 2>&1 || true
  git_quiet -C "$suite" add -A >/dev/null 2>&1 && git_quiet -C "$suite" commit -q -m suite >/dev/null 2>&1
  cat <<YAML
  - name: $1
    repo: $suite
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
    shards: 2
YAML
}
{ cat "$scratch/head.yaml"; make_suite alpha; make_suite beta; } >"$scratch/both.yaml"
{ cat "$scratch/head.yaml"; sed -n '/name: alpha/,$p' "$scratch/both.yaml" | sed '/name: beta/,$d'; } >"$scratch/alpha.yaml"
{ cat "$scratch/head.yaml"; sed -n '/name: beta/,$p' "$scratch/both.yaml"; } >"$scratch/beta.yaml"
for c in both alpha beta; do
  "$GATE_BIN" validate --config "$scratch/$c.yaml" >/dev/null || fail "config $c invalid: $(cat "$scratch/$c.yaml")"
done

# One CI run: plan, one job per shard (each with a cache of its own), fan-in.
ci_run() {  # config run-name
  local config=$1 run=$2
  "$GATE_BIN" plan --config "$scratch/$config.yaml" --out "$scratch/$run/plan.json" >"$scratch/$run.matrix" 2>"$scratch/$run.plan.err" ||
    fail "$run: plan failed: $(cat "$scratch/$run.plan.err")"
  python3 -c 'import json,sys; [print(e["consumer"], e["shard"], e["shards"]) for e in json.load(open(sys.argv[1]))["include"]]' \
    "$scratch/$run.matrix" | while read -r consumer k n; do
    "$GATE_BIN" test --config "$scratch/$config.yaml" --consumer "$consumer" --shard "$k/$n" --candidate "$candidate" \
      --plan "$scratch/$run/plan.json" --cache-dir "$scratch/$run/cache-$consumer-$k" \
      --report-dir "$scratch/$run/shards/$consumer-$k" >"$scratch/$run/$consumer-$k.log" 2>&1
  done
  "$GATE_BIN" merge --config "$scratch/$config.yaml" --report-dir "$scratch/$run/merged" \
    --cache-dir "$scratch/$run/cache-merge" "$scratch/$run"/shards/*-[0-9] >"$scratch/$run.merge.out" 2>"$scratch/$run.merge.err"
}

timings_tags() { curl -fsS "http://$GATE_REGISTRY/v2/${repository#*/}/tags/list" | python3 -c 'import json,sys; print(" ".join(sorted(t for t in json.load(sys.stdin)["tags"] if t.startswith("gate-timings-"))))'; }

# First run: nothing shared yet, so nothing pinned; the fan-in shares.
mkdir -p "$scratch/run1"
ci_run both run1
expect_eq "$?" 0 "run 1 merge exit ($(grep -i error "$scratch/run1.merge.err"))"
expect_eq "$(json_get "$scratch/run1/plan.json" 'sorted(v["timings"].items())')" "[('alpha', ''), ('beta', '')]" "run 1 pins nothing"
tags=$(timings_tags)
case "$tags" in gate-timings-alpha-*" "gate-timings-beta-*) ;; *) fail "the fan-in shared no durations per consumer: '$tags'" ;; esac

# Second run, on fresh caches: planned from the registry, by digest.
mkdir -p "$scratch/run2"
ci_run both run2
expect_eq "$?" 0 "run 2 merge exit ($(grep -i error "$scratch/run2.merge.err"))"
pin=$(json_get "$scratch/run2/plan.json" 'v["timings"]["alpha"]')
case "$pin" in sha256:*) ;; *) fail "run 2's plan pinned no shared durations for alpha: '$pin'" ;; esac
expect_eq "$(json_get "$scratch/run2.matrix" 'sorted(set(e["timings"] for e in v["include"] if e["consumer"] == "alpha"))')" "['$pin']" "the matrix carries the pin"
for k in 1 2; do
  expect_eq "$(json_get "$scratch/run2/shards/alpha-$k/verdict.json" 'v["consumers"][0]["timings"]')" "$pin" "shard $k's verdict names the store it split by"
  expect_file_contains "$scratch/run2/alpha-$k.log" "planned from 6 shared test duration" "shard $k read the pinned durations"
done

# A shard planned from another store's digest: refused by the fan-in.
newer=$("$GATE_BIN" plan --config "$scratch/both.yaml" 2>/dev/null | python3 -c 'import json,sys; print([e["timings"] for e in json.load(sys.stdin)["include"] if e["consumer"] == "alpha"][0])')
[ -n "$newer" ] && [ "$newer" != "$pin" ] || fail "run 2's fan-in shared no newer store ('$newer' after '$pin')"
"$GATE_BIN" test --config "$scratch/both.yaml" --consumer alpha --shard 2/2 --candidate "$candidate" \
  --timings "alpha=$newer" --cache-dir "$scratch/run2/cache-other" --report-dir "$scratch/other-alpha-2" >/dev/null 2>&1
"$GATE_BIN" merge --config "$scratch/both.yaml" --report-dir "$scratch/refused" --cache-dir "$scratch/cache-refused" \
  "$scratch/run2/shards/alpha-1" "$scratch/other-alpha-2" "$scratch/run2/shards"/beta-* >/dev/null 2>"$scratch/refused.err"
expect_eq "$?" 3 "merge of shards planned from different stores"
expect_file_contains "$scratch/refused.err" "planned from different timing stores: $pin and $newer" "the refusal names both stores"

# Two fan-ins at once, one per consumer (configs of one consumer each): both
# consumers' durations are kept.
"$GATE_BIN" merge --config "$scratch/alpha.yaml" --report-dir "$scratch/ma" --cache-dir "$scratch/cache-ma" \
  "$scratch/run2/shards"/alpha-* >/dev/null 2>"$scratch/ma.err" &
a=$!
"$GATE_BIN" merge --config "$scratch/beta.yaml" --report-dir "$scratch/mb" --cache-dir "$scratch/cache-mb" \
  "$scratch/run2/shards"/beta-* >/dev/null 2>"$scratch/mb.err" &
b=$!
wait $a; expect_eq "$?" 0 "concurrent merge of alpha ($(cat "$scratch/ma.err" | grep -i error))"
wait $b; expect_eq "$?" 0 "concurrent merge of beta ($(cat "$scratch/mb.err" | grep -i error))"
"$GATE_BIN" plan --config "$scratch/both.yaml" --out "$scratch/final-plan.json" >/dev/null 2>&1
for c in alpha beta; do
  d=$(json_get "$scratch/final-plan.json" "v['timings']['$c']")
  "$GATE_BIN" test --config "$scratch/both.yaml" --consumer "$c" --shard 1/2 --candidate "$candidate" \
    --timings "$c=$d" --cache-dir "$scratch/cache-final-$c" --report-dir "$scratch/final-$c" >"$scratch/final-$c.log" 2>&1
  expect_file_contains "$scratch/final-$c.log" "planned from 6 shared test duration" "$c's durations kept after concurrent fan-ins"
done

# Shards that split by different local stores (no plan: one job's cache has
# durations, the other's none) would leave some test in no shard: refused.
# From a plan that pinned nothing, both split by no durations and agree.
"$GATE_BIN" test --config "$scratch/both.yaml" --consumer alpha --candidate "$candidate" \
  --cache-dir "$scratch/cache-local" --report-dir "$scratch/local-whole" >/dev/null 2>&1 ||
  fail "an unsharded run to fill a local store"
for pin in none empty; do
  flags=()
  [ "$pin" = empty ] && flags=(--timings alpha=)
  "$GATE_BIN" test --config "$scratch/both.yaml" --consumer alpha --shard 1/2 --candidate "$candidate" "${flags[@]}" \
    --cache-dir "$scratch/cache-local" --report-dir "$scratch/local-$pin-1" >/dev/null 2>&1
  "$GATE_BIN" test --config "$scratch/both.yaml" --consumer alpha --shard 2/2 --candidate "$candidate" "${flags[@]}" \
    --cache-dir "$scratch/cache-local-$pin-empty" --report-dir "$scratch/local-$pin-2" >/dev/null 2>&1
  "$GATE_BIN" merge --config "$scratch/alpha.yaml" --report-dir "$scratch/local-$pin-merged" --cache-dir "$scratch/cache-m-$pin" \
    "$scratch/local-$pin-1" "$scratch/local-$pin-2" >/dev/null 2>"$scratch/local-$pin.err"
  echo $? >"$scratch/local-$pin.rc"
done
expect_eq "$(cat "$scratch/local-none.rc")" 3 "merge of shards split by different local stores"
expect_file_contains "$scratch/local-none.err" "split its tests differently" "the different splits named"
expect_eq "$(cat "$scratch/local-empty.rc")" 0 "merge of shards of a plan that pinned nothing ($(cat "$scratch/local-empty.err" | grep -i error))"
expect_eq "$(json_get "$scratch/local-empty-merged/verdict.json" 'len(v["consumers"][0]["tests"])')" 6 "every test ran once"

# `gate run` publishes what it tests: never one shard of it. --shard without
# --dry-run is a usage error, and GitLab's CI_NODE_* (set in every parallel
# or matrix job) do not shard it: it tests every test.
"$GATE_BIN" run --config "$scratch/alpha.yaml" --candidate "$candidate" --shard 1/2 \
  --report-dir "$scratch/run-shard" >/dev/null 2>"$scratch/run-shard.err"
expect_eq "$?" 2 "gate run --shard without --dry-run"
expect_file_contains "$scratch/run-shard.err" "would publish on one shard's tests" "the refusal says why"
expect_eq "$(tag_digest "$repository" latest)" none "nothing published by a sharded run"
CI_NODE_INDEX=1 CI_NODE_TOTAL=2 "$GATE_BIN" run --config "$scratch/alpha.yaml" --candidate "$candidate" --dry-run \
  --report-dir "$scratch/run-ci-node" >/dev/null 2>&1
expect_eq "$?" 0 "gate run in a parallel job"
expect_eq "$(json_get "$scratch/run-ci-node/verdict.json" 'str(len(v["consumers"][0]["tests"])) + " tests, shard " + repr(v["consumers"][0]["shard"])')" "6 tests, shard ''" "gate run is not sharded by CI_NODE_*"
CI_NODE_INDEX=2 CI_NODE_TOTAL=2 "$GATE_BIN" test --config "$scratch/alpha.yaml" --candidate "$candidate" \
  --report-dir "$scratch/test-ci-node" >/dev/null 2>&1
expect_eq "$(json_get "$scratch/test-ci-node/verdict.json" 'v["consumers"][0]["shard"]')" "2/2" "gate test takes its shard from CI_NODE_*"
CI_NODE_INDEX=3 CI_NODE_TOTAL=2 "$GATE_BIN" test --config "$scratch/alpha.yaml" --candidate "$candidate" \
  --report-dir "$scratch/test-bad-node" >/dev/null 2>"$scratch/test-bad-node.err"
expect_eq "$?" 2 "CI_NODE_INDEX beyond CI_NODE_TOTAL"
expect_file_contains "$scratch/test-bad-node.err" "CI_NODE_INDEX=3 CI_NODE_TOTAL=2" "the bad node named"

# A pin that is not a digest is a usage error, before any test runs.
"$GATE_BIN" test --config "$scratch/both.yaml" --consumer alpha --shard 1/2 --candidate "$candidate" \
  --timings "alpha=latest" --report-dir "$scratch/bad-pin" >/dev/null 2>"$scratch/bad-pin.err"
expect_eq "$?" 2 "a pin that is not a digest"
expect_file_contains "$scratch/bad-pin.err" "'latest' is not a digest" "the bad pin named"

finish

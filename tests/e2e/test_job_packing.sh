# Consumer-shards packed into fewer CI jobs than there are shards (a GitHub
# matrix runs at most 256 jobs, GitLab's parallel: 200): gate plan
# --max-jobs 3 packs 6 consumer-shards into 3 jobs, `gate test --plan --job J`
# runs every consumer-shard of its job, and gate merge joins them into the
# single run's verdict; a job left out is refused by name. A consumer split
# into more shards than it has tests leaves an empty shard that merge accepts
# only because its split says it was given nothing. The CI's job count is
# checked against the plan's.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
pushed=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b" 2>/dev/null)
digest=${pushed##*@}
candidate="$repository@$digest"

pysuite() {  # dir tests...
  mkdir -p "$1/tests"
  local dir=$1
  shift
  for t in "$@"; do printf 'def test_%s():\n    import time; time.sleep(0.05)\n' "$t"; done >"$dir/tests/test_all.py"
  make_repo "$dir" >/dev/null 2>&1
}
pysuite "$scratch/wide" a b c d e f g h i
pysuite "$scratch/narrow" one two # 2 tests, 3 shards: one of them given none
for c in wide:3 narrow:3; do
  cat >>"$scratch/gate.yaml" <<YAML
  - name: ${c%%:*}
    repo: $scratch/${c%%:*}
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
    shards: ${c##*:}
YAML
done
"$GATE_BIN" validate --config "$scratch/gate.yaml" >/dev/null || fail "config invalid: $(cat "$scratch/gate.yaml")"

# 7 consumer-shards (emucli 1, wide 3, narrow 3) in 3 jobs.
"$GATE_BIN" plan --config "$scratch/gate.yaml" --max-jobs 3 --out "$scratch/plan.json" >"$scratch/matrix.json" 2>"$scratch/plan.err"
expect_eq "$?" 0 "plan exit ($(cat "$scratch/plan.err"))"
expect_eq "$(json_get "$scratch/matrix.json" '[(e["job"], e["jobs"]) for e in v["include"]]')" "[(1, 3), (2, 3), (3, 3)]" "3 matrix entries"
expect_eq "$(json_get "$scratch/plan.json" '" ".join(sorted("%s:%d/%d" % (u["consumer"], u["shard"], u["shards"]) for j in v["jobs"] for u in j))')" \
  "emucli:1/1 narrow:1/3 narrow:2/3 narrow:3/3 wide:1/3 wide:2/3 wide:3/3" "every consumer-shard in exactly one job"
expect_eq "$(json_get "$scratch/plan.json" 'all(len(set(u["consumer"] for u in j)) == len(j) for j in v["jobs"])')" True \
  "no job holds two shards of one consumer"
expect_file_contains "$scratch/plan.err" "7 consumer-shard(s) in 3 job(s)" "the plan says how it packed"
# The default packs each consumer-shard into a job of its own.
"$GATE_BIN" plan --config "$scratch/gate.yaml" >"$scratch/matrix-wide.json" 2>/dev/null
expect_eq "$(json_get "$scratch/matrix-wide.json" 'len(v["include"])')" 7 "no packing under the limit"
"$GATE_BIN" plan --config "$scratch/gate.yaml" --max-jobs 257 >/dev/null 2>"$scratch/max.err"
expect_eq "$?" 2 "a job count past GitHub's matrix limit"

# One process per job, as the CI would run them.
pids=()
for j in 1 2 3; do
  "$GATE_BIN" test --config "$scratch/gate.yaml" --plan "$scratch/plan.json" --job "$j" --candidate "$candidate" \
    --cache-dir "$scratch/cache-$j" --report-dir "$scratch/jobs/$j" >"$scratch/job-$j.out" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
for j in 1 2 3; do
  expect_eq "$(json_get "$scratch/jobs/$j/verdict.json" 'sorted("%s:%s" % (c["name"], c["shard"] or "1/1") for c in v["consumers"])')" \
    "$(json_get "$scratch/plan.json" "sorted('%s:%d/%d' % (u['consumer'], u['shard'], u['shards']) for u in v['jobs'][$j - 1])")" \
    "job $j ran exactly its consumer-shards"
done
"$GATE_BIN" merge --config "$scratch/gate.yaml" --report-dir "$scratch/merged" --cache-dir "$scratch/cache-merge" \
  "$scratch"/jobs/* >/dev/null 2>"$scratch/merge.err"
expect_eq "$?" 0 "merge of the packed jobs ($(grep -i error "$scratch/merge.err" | head -3))"
expect_eq "$(json_get "$scratch/merged/verdict.json" 'sorted(t["id"].split("::")[-1] for c in v["consumers"] if c["name"] != "emucli" for t in c["tests"])')" \
  "['test_a', 'test_b', 'test_c', 'test_d', 'test_e', 'test_f', 'test_g', 'test_h', 'test_i', 'test_one', 'test_two']" \
  "every test once"
# narrow's third shard was given nothing by a split every shard agrees on.
expect_eq "$(json_get "$scratch/merged/verdict.json" '[c["tests_planned"] for c in v["consumers"] if c["name"] == "narrow"]')" "[2]" \
  "narrow planned its 2 tests"

# A job left out: its consumer-shards are missing, by name.
"$GATE_BIN" merge --config "$scratch/gate.yaml" --report-dir "$scratch/m-missing" "$scratch/jobs/1" "$scratch/jobs/3" \
  >/dev/null 2>"$scratch/missing.err"
expect_eq "$?" 3 "merge without job 2"
named=$(sed -n "s/.*merge: shard \([0-9]*\/[0-9]*\) of consumer '\([a-z]*\)' is missing.*/\2:\1/p" "$scratch/missing.err")
expect_eq "$(json_get "$scratch/plan.json" "'$named' in ['%s:%d/%d' % (u['consumer'], u['shard'], u['shards']) for u in v['jobs'][1]]")" True \
  "the refusal names a consumer-shard of job 2 ('$named')"

# GitLab: CI_NODE_INDEX picks the job; a 4th node has nothing to do and
# says so; a parallel: smaller than the plan's jobs is refused up front.
CI_NODE_INDEX=4 CI_NODE_TOTAL=4 "$GATE_BIN" test --config "$scratch/gate.yaml" --plan "$scratch/plan.json" \
  --candidate "$candidate" --cache-dir "$scratch/cache-4" --report-dir "$scratch/jobs/4" >/dev/null 2>"$scratch/idle.err"
expect_eq "$?" 0 "an idle 4th node"
expect_eq "$(json_get "$scratch/jobs/4/verdict.json" 'len(v["consumers"])')" 0 "it ran no consumer"
expect_file_contains "$scratch/idle.err" "the plan has nothing for it" "says why"
"$GATE_BIN" merge --config "$scratch/gate.yaml" --report-dir "$scratch/merged4" "$scratch"/jobs/* >/dev/null 2>&1
expect_eq "$?" 0 "merge with the idle node's report"
# Its passing report tested nothing: it never publishes on its own.
before=$(tag_digest "$repository" latest)
"$GATE_BIN" publish --config "$scratch/gate.yaml" --verdict "$scratch/jobs/4/verdict.json" >/dev/null 2>"$scratch/idle-publish.err"
[ "$?" -ne 0 ] || fail "the idle job's verdict was published"
expect_file_contains "$scratch/idle-publish.err" "tested no consumer" "says why"
expect_eq "$(tag_digest "$repository" latest)" "$before" "nothing published from the idle job's verdict"
CI_NODE_INDEX=1 CI_NODE_TOTAL=2 "$GATE_BIN" test --config "$scratch/gate.yaml" --plan "$scratch/plan.json" \
  --candidate "$candidate" --report-dir "$scratch/too-few" >/dev/null 2>"$scratch/few.err"
expect_eq "$?" 2 "fewer CI jobs than the plan's"
expect_file_contains "$scratch/few.err" "packed 3 jobs but the CI started 2" "says why"
# Usage errors: a job past the plan, --job with --shard, a plan with two
# shards of one consumer in a job.
"$GATE_BIN" test --config "$scratch/gate.yaml" --plan "$scratch/plan.json" --job 5 --candidate "$candidate" \
  --report-dir "$scratch/u1" >/dev/null 2>"$scratch/u1.err"
expect_eq "$?" 2 "--job past the plan"
"$GATE_BIN" test --config "$scratch/gate.yaml" --plan "$scratch/plan.json" --job 1 --shard 1/2 --candidate "$candidate" \
  --report-dir "$scratch/u2" >/dev/null 2>&1
expect_eq "$?" 2 "--job with --shard"
python3 - "$scratch/plan.json" "$scratch/twice.json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
plan["jobs"][0] = [{"consumer": "wide", "shard": 1, "shards": 3}, {"consumer": "wide", "shard": 2, "shards": 3}]
json.dump(plan, open(sys.argv[2], "w"))
PY
"$GATE_BIN" test --config "$scratch/gate.yaml" --plan "$scratch/twice.json" --job 1 --candidate "$candidate" \
  --report-dir "$scratch/u3" >/dev/null 2>"$scratch/u3.err"
expect_eq "$?" 2 "a plan with two shards of one consumer in a job"
expect_file_contains "$scratch/u3.err" "twice.json: jobs\[0\] holds two shards of consumer 'wide'" "names the file and the job"
[ -z "$(containers_of_repository)" ] || fail "containers left behind: $(containers_of_repository)"

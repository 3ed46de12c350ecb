# The GitLab CI template (workflows/gitlab/gate.gitlab-ci.yml) end to end,
# run by gitlab-ci-local (shell executor, each job in a directory and cache of
# its own, as on hosted runners) against the real engine and registry:
# install, build beside plan, 3 `parallel:` shard jobs running the plan's
# jobs (4 consumer-shards: a skewed consumer in 3, a tiny one in 1), the
# fan-in, publish.
#   run 1: nothing shared yet: the shards split by count (a skewed suite:
#          the slowest shard far above the ideal); latest = the tested digest;
#   run 2: planned from run 1's durations, shared through the registry: the
#          slowest shard within 1.10x of the ideal;
#   run 3: a shard job that ran nothing: the fan-in fails, nothing published.
# gate:install finds a gate built from these sources in the cache (seeded
# with `ci-install-gate --bundle` from the tested binary; a real compile takes
# minutes) and builds nothing.
source "$(dirname "$0")/lib.sh"

glcl="$GATE_BUILD_DIR/node/node_modules/.bin/gitlab-ci-local"
[ -x "$glcl" ] || { fail "gitlab-ci-local is not installed in $GATE_BUILD_DIR/node (scripts/bootstrap installs it)"; exit 1; }
command -v rsync >/dev/null || { fail "rsync is missing (scripts/bootstrap installs it)"; exit 1; }

# The consumer: 12 tests, 3 of them slow, placed where a split by count (each
# test priced alike) puts all three into shard 1.
suite="$scratch/consumer"
mkdir -p "$suite/tests"
{
  echo "import time"
  for i in $(seq 0 11); do
    case $i in 0 | 3 | 6) s=0.6 ;; *) s=0.03 ;; esac
    printf 'def test_%02d():\n    time.sleep(%s)\n' "$i" "$s"
  done
} >"$suite/tests/test_skew.py"
git -C "$suite" init -q -b main && git -C "$suite" add -A &&
  git -C "$suite" -c user.name=t -c user.email=t@t commit -q -m suite || fail "consumer repository"

# A second consumer, one shard: 4 consumer-shards packed into 3 jobs.
tiny="$scratch/tiny"
mkdir -p "$tiny/tests"
printf 'def test_a():\n    pass\n\ndef test_b():\n    pass\n' >"$tiny/tests/test_tiny.py"
git -C "$tiny" init -q -b main && git -C "$tiny" add -A &&
  git -C "$tiny" -c user.name=t -c user.email=t@t commit -q -m suite || fail "tiny repository"

project="$scratch/project"
mkdir -p "$project"
cp "$GATE_SOURCE_DIR/workflows/gitlab/gate.gitlab-ci.yml" "$project/"
cat >"$project/gate.yaml" <<YAML
version: 1
image:
  repository: $repository
  context: $GATE_BUILD_DIR/demo/image
  build_args: {CONTRACT: v1, REVISION: "\${GATE_E2E_REVISION}"}
  candidate_tag: "pr-\${GATE_E2E_REVISION}"
  publish_tags: [latest]
consumers:
  - name: skew
    repo: $suite
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
    shards: 3
  - name: tiny
    repo: $tiny
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
YAML
pipeline() {  # file shard-script...
  local file=$1
  shift
  cat >"$project/$file" <<YAML
include:
  - local: gate.gitlab-ci.yml
variables:
  GATE_SOURCE_DIR: $GATE_SOURCE_DIR
  GATE_DRY_RUN: "false"
  # Every job a cache of its own: only the registry carries durations.
  XDG_CACHE_HOME: \$CI_PROJECT_DIR/.job-cache
  GATE_JOBS: "3"
gate:shard:
  parallel: 3
$([ $# -gt 0 ] && printf '  script:\n' && printf '    - %s\n' "$@")
YAML
}
pipeline .gitlab-ci.yml
pipeline missing-shard.yml 'mkdir -p "gate-shards/$CI_NODE_INDEX"' \
  'if [ "$CI_NODE_INDEX" = 2 ]; then echo "this shard job ran nothing"; exit 0; fi' \
  'gate test --config "$GATE_CONFIG" --candidate "$GATE_CANDIDATE" --plan gate-plan/plan.json --report-dir "gate-shards/$CI_NODE_INDEX" || [ $? -eq 1 ]'
(cd "$project" && git init -q -b main && git remote add origin https://gitlab.example.com/acme/app.git &&
  git add -A && git -c user.name=t -c user.email=t@t commit -q -m pipeline) || fail "project repository"

# gate:install's cache, as a first pipeline would have left it.
bash "$GATE_SOURCE_DIR/scripts/ci-install-gate" --bundle "$GATE_BIN" \
  "$project/.gitlab-ci-local/cache/gate-dist-v1/.gate-dist" 2>"$scratch/bundle.err" || fail "bundle: $(cat "$scratch/bundle.err")"

run_pipeline() {  # name revision [file]
  (cd "$project" && "$glcl" --shell-isolation --file "${3:-.gitlab-ci.yml}" --variable "GATE_REGISTRY=$GATE_REGISTRY" \
    --variable "GATE_E2E_REVISION=$2" >"$scratch/$1.log" 2>&1)
}
artifacts="$project/.gitlab-ci-local/artifacts"
dotenv() { cat "$artifacts/$1/.gitlab-ci-reports/dotenv/$2" 2>/dev/null; }
# max(shard's test seconds) / (all tests' seconds / 3), from the shards' verdicts.
skew() {
  python3 - "$artifacts"/gateOgshard*/gate-shards/*/verdict.json <<'PY'
import json, sys
loads = [sum(t["seconds"] for c in json.load(open(f))["consumers"] if c["name"] == "skew" for t in c["tests"])
         for f in sys.argv[1:]]
assert len(loads) == 3, loads
print(f"{max(loads) / (sum(loads) / 3):.2f}")
PY
}

# Run 1: the whole pipeline, published.
run_pipeline run1 r1
expect_eq "$?" 0 "run 1: pipeline exit ($(grep -E 'FAIL|rror' "$scratch/run1.log" | head -5))"
expect_file_contains "$scratch/run1.log" "ci-install-gate: using the gate in .*: nothing built" "gate:install built nothing"
[ "$(grep -c 'Building CXX' "$scratch/run1.log")" -eq 0 ] || fail "run 1 compiled"
for k in 1 2 3; do expect_file_contains "$scratch/run1.log" "PASS  gate:shard: \[$k/3\]" "run 1: shard $k/3 ran"; done
expect_eq "$(dotenv gateOgverdict gate-verdict.env | grep GATE_VERDICT)" "GATE_VERDICT=passed" "run 1: the verdict's dotenv"
tested1=$(json_get "$artifacts/gateOgverdict/gate-report/verdict.json" 'v["candidate"]["digest"]')
expect_eq "$(tag_digest "$repository" latest)" "$tested1" "run 1: latest is the tested digest"
expect_eq "$(dotenv gateOgverdict gate-verdict.env | grep GATE_DIGEST)" "GATE_DIGEST=$tested1" "run 1: the digest in the dotenv"
[ -s "$artifacts/gateOgverdict/gate-report/junit.xml" ] || fail "run 1: no JUnit report for artifacts:reports:junit"
expect_eq "$(json_get "$artifacts/gateOgplan/gate-plan/plan.json" 'v["timings"]["skew"]')" "" "run 1: nothing to pin yet"
# 4 consumer-shards in 3 jobs: one job ran two consumers, each shard once.
units1=$(python3 - "$artifacts"/gateOgshard*/gate-shards/*/verdict.json <<'PY'
import json, sys
jobs = [sorted(f'{c["name"]}:{c["shard"] or "1/1"}' for c in json.load(open(f))["consumers"]) for f in sys.argv[1:]]
print(max(len(j) for j in jobs), " ".join(sorted(u for j in jobs for u in j)))
PY
)
expect_eq "$units1" "2 skew:1/3 skew:2/3 skew:3/3 tiny:1/1" "run 1: the consumer-shards packed into 3 jobs"
skew1=$(skew)
echo "run 1 (split by count): slowest shard ${skew1}x the ideal"
[ "$(echo "$skew1 > 1.3" | bc)" = 1 ] || fail "run 1 was meant to be badly balanced by count (${skew1}x): the suite is not skewed"

# Run 2: a new candidate, split by run 1's durations from the registry.
run_pipeline run2 r2
expect_eq "$?" 0 "run 2: pipeline exit ($(grep -E 'FAIL|rror' "$scratch/run2.log" | head -5))"
pin=$(json_get "$artifacts/gateOgplan/gate-plan/plan.json" 'v["timings"]["skew"]')
case "$pin" in sha256:*) ;; *) fail "run 2: the plan pinned no shared durations ('$pin')" ;; esac
expect_file_contains "$scratch/run2.log" "planned from 12 shared test duration" "run 2: the shards read the pinned durations"
for k in 1 2 3; do
  expect_eq "$(json_get "$artifacts"/gateOgshard*/gate-shards/$k/verdict.json '[c["timings"] for c in v["consumers"] if c["name"] == "skew"][0]')" "$pin" "run 2: shard $k's store"
done
skew2=$(skew)
echo "run 2 (split by shared durations): slowest shard ${skew2}x the ideal"
[ "$(echo "$skew2 <= 1.10" | bc)" = 1 ] || fail "run 2: the slowest shard is ${skew2}x the ideal (> 1.10x)"
tested2=$(json_get "$artifacts/gateOgverdict/gate-report/verdict.json" 'v["candidate"]["digest"]')
[ "$tested2" != "$tested1" ] || fail "run 2 tested run 1's candidate"
expect_eq "$(tag_digest "$repository" latest)" "$tested2" "run 2: latest is the tested digest"

# Run 3: a new candidate, and shard 2's job runs nothing: the fan-in fails.
run_pipeline run3 r3 missing-shard.yml
[ "$?" -ne 0 ] || fail "run 3: the pipeline passed with a shard missing"
expect_file_contains "$scratch/run3.log" "FAIL  gate:verdict" "run 3: the fan-in job failed"
expect_file_contains "$scratch/run3.log" "merge: no verdict.json in gate-shards/2 (that shard's results are missing)" "run 3: the missing shard named"
expect_eq "$(dotenv gateOgverdict gate-verdict.env | grep GATE_VERDICT)" "GATE_VERDICT=infrastructure" "run 3: the verdict's dotenv"
expect_eq "$(tag_digest "$repository" latest)" "$tested2" "run 3: nothing published"

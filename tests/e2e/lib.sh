# Shared helpers of the end-to-end tests: each test runs the real gate
# binary against the real engine and registry that scripts/test provides.
# A failed test keeps its scratch directory and says where it is.
set -uo pipefail

: "${GATE_BIN:?run through ctest (scripts/test)}"
if [ -z "${GATE_REGISTRY:-}" ]; then
  echo "FAIL: GATE_REGISTRY is not set: run the tests through scripts/test, which starts the registry" >&2
  exit 1
fi

test_name=$(basename "$0" .sh)
scratch=$(mktemp -d "/tmp/gate-e2e-${test_name}.XXXXXX")
failures=0
# Unique per run so tests never see each other's tags.
repository="$GATE_REGISTRY/e2e/${test_name#test_}-$$"
export XDG_CACHE_HOME="$scratch/cache"

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

finish() {
  local rc=$?
  if [ "$failures" -eq 0 ] && [ "$rc" -eq 0 ]; then
    rm -rf "$scratch"
    echo "PASS: $test_name"
  else
    echo "FAILED: $test_name ($failures failed assertions, exit $rc); scratch kept in $scratch" >&2
    exit 1
  fi
}
trap finish EXIT

expect_eq() {  # actual expected what
  if [ "$1" != "$2" ]; then fail "$3: expected '$2', got '$1'"; fi
}

expect_file_contains() {  # file pattern what
  if ! grep -q -- "$2" "$1" 2>/dev/null; then fail "$3: '$2' not found in $1"; fi
}

# The digest a tag points to in the registry, read with skopeo; "none" if unset.
tag_digest() {  # repository tag
  skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$1:$2" 2>/dev/null || echo none
}

json_get() {  # file python-expression-on-v
  python3 -c "import json,sys; v=json.load(open(sys.argv[1])); print($2)" "$1"
}

# Writes $scratch/gate.yaml for the bundled demo candidate (CONTRACT v1 or v2)
# and consumer, in this test's own repository. Extra consumer keys may be
# given as the third argument (YAML lines indented by four spaces).
write_demo_config() {  # contract [run-override] [extra-consumer-lines]
  local contract=$1 run=${2:-}
  if [ -z "$run" ]; then
    run='["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=reports/junit.xml", "tests"]'
  fi
  cat >"$scratch/gate.yaml" <<YAML
version: 1
image:
  repository: $repository
  context: $GATE_BUILD_DIR/demo/image
  build_args: {CONTRACT: $contract, REVISION: "e2e-$test_name-$$"}
  candidate_tag: "pr-$contract-$$"
  publish_tags: [latest, stable]
consumers:
  - name: emucli
    repo: $GATE_BUILD_DIR/demo/consumer
    ref: main
    run: $run
    env: {EMULATOR_IMAGE: "\${CANDIDATE_REF}"}
    timeout: 2m
${3:-    junit: "reports/*.xml"}
YAML
}

# Containers (any state) created from any image of this test's repository.
containers_of_repository() {
  local ids
  ids=$(docker images --quiet --no-trunc "$repository" 2>/dev/null | sort -u)
  for id in $ids; do docker ps --all --quiet --filter "ancestor=$id"; done | sort -u
}

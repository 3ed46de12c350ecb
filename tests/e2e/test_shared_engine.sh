# Two gate processes on one engine, against one candidate: the jobs of a
# packed CI plan on one runner, or a dry run beside the CI's. The first
# consumer starts a container of the candidate itself and talks to it while
# the second gate runs a consumer to its end. That gate's clean-up must not
# take the first one's container (it once did: the first consumer's test
# lost its server mid-request, and the run blocked a good image with a
# "regression"). What the first leaves is removed when the last phase on
# the engine ends (the second's leftover too, by the first gate), and nothing
# of the candidate is left behind.
source "$(dirname "$0")/lib.sh"
# The ledger every gate on this engine finds by default (ctest runs this
# test alone: RUN_SERIAL).
unset GATE_LEDGER_DIR

write_demo_config v1
pushed=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b" 2>/dev/null)
candidate="$repository@${pushed##*@}"
[ -n "${pushed##*@}" ] || fail "build printed no digest"

marker="gate-e2e-shared-$$"
# The first starts a container of the candidate before the second gate
# begins and one while it runs, waits until that gate is done, then needs
# both still running; it leaves them behind for gate to remove.
cat >"$scratch/long.sh" <<SH
wait_for() { for _ in \$(seq 1 600); do [ -e "\$1" ] && return 0; sleep 0.1; done; echo "no \$1"; exit 4; }
docker run --detach --name $marker-1 "\$EMULATOR_IMAGE" >/dev/null || exit 3
touch "$scratch/long-started"
wait_for "$scratch/short-running"
docker run --detach --name $marker-2 "\$EMULATOR_IMAGE" >/dev/null || exit 3
touch "$scratch/long-second"
wait_for "$scratch/other-done"
for c in $marker-1 $marker-2; do
  state=\$(docker inspect --format '{{.State.Running}}' \$c 2>&1)
  echo "\$c after the other gate: \$state"
  [ "\$state" = true ] || exit 1
done
SH
# The second leaves a container of its own behind, while the first still runs.
cat >"$scratch/short.sh" <<SH
touch "$scratch/short-running"
for _ in \$(seq 1 600); do [ -e "$scratch/long-second" ] && break; sleep 0.1; done
docker run --detach --name $marker-short "\$EMULATOR_IMAGE"
SH
consumer_config() {  # name command
  cat >"$scratch/$1.yaml" <<YAML
version: 1
image:
  repository: $repository
  context: $GATE_BUILD_DIR/demo/image
consumers:
  - name: $1
    repo: $GATE_BUILD_DIR/demo/consumer
    ref: main
    run: "$2"
    env: {EMULATOR_IMAGE: "\${CANDIDATE_REF}"}
    timeout: 2m
YAML
}
consumer_config long "sh $scratch/long.sh"
consumer_config short "sh $scratch/short.sh"

"$GATE_BIN" test --config "$scratch/long.yaml" --candidate "$candidate" --cache-dir "$scratch/cache-long" \
  --report-dir "$scratch/long" >"$scratch/long.out" 2>&1 &
long_pid=$!
for _ in $(seq 1 600); do [ -e "$scratch/long-started" ] && break; sleep 0.1; done
[ -e "$scratch/long-started" ] || fail "the first consumer never started its container ($(tail -5 "$scratch/long.out"))"

"$GATE_BIN" test --config "$scratch/short.yaml" --candidate "$candidate" --cache-dir "$scratch/cache-short" \
  --report-dir "$scratch/short" >"$scratch/short.out" 2>&1
expect_eq "$?" 0 "the second gate ($(tail -3 "$scratch/short.out"))"
expect_eq "$(json_get "$scratch/short/verdict.json" 'v["consumers"][0]["containers_removed"]')" "[]" \
  "the second gate removed no container: another gate's phase still ran"
touch "$scratch/other-done"

wait "$long_pid"
expect_eq "$?" 0 "the first gate: its containers outlived the other gate ($(grep -h 'after the other' "$scratch/long.out" | tr '\n' ' '))"
expect_eq "$(json_get "$scratch/long/verdict.json" 'len(v["consumers"][0]["containers_removed"])')" 3 \
  "the last gate on the engine removed what both consumers left"
left=$(docker ps --all --quiet --filter "name=$marker")
[ -z "$left" ] || fail "the first consumer's container was left behind: $left"
[ -z "$(containers_of_repository)" ] || fail "containers of the candidate left behind: $(containers_of_repository)"

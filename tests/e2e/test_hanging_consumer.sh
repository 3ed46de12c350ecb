# A consumer that hangs, with a container of the candidate running and a
# background process: killed at its timeout, exit 1, nothing left behind.
source "$(dirname "$0")/lib.sh"

marker="gate-e2e-hang-$$"
nap="100$$"  # a sleep length no other process on the machine uses
run="\"docker run --detach --name $marker \$EMULATOR_IMAGE >/dev/null; sleep $nap & sleep $nap\""
write_demo_config v1 "$run" "    junit: \"reports/*.xml\""
sed -i 's/timeout: 2m/timeout: 4s/' "$scratch/gate.yaml"

start=$(date +%s)
"$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/report" >/dev/null 2>"$scratch/err"
expect_eq "$?" 1 "exit code of a run whose consumer hung"
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -lt 60 ] || fail "the hang was not cut at its timeout (took ${elapsed}s)"

expect_eq "$(json_get "$scratch/report/verdict.json" 'v["consumers"][0]["status"]')" timed-out "consumer status"
expect_file_contains "$scratch/report/summary.md" "timeout" "summary says it timed out"
expect_eq "$(tag_digest "$repository" latest)" none "nothing published"
sleep 1
if pgrep -f "sleep $nap" >/dev/null; then
  fail "processes left behind: $(pgrep -af "sleep $nap")"
fi
left=$(docker ps --all --quiet --filter "name=$marker")
[ -z "$left" ] || fail "container left behind: $left"
[ -z "$(containers_of_repository)" ] || fail "containers of the candidate left behind"
removed=$(json_get "$scratch/report/verdict.json" 'len(v["consumers"][0]["containers_removed"])')
expect_eq "$removed" 1 "containers removed by the gate, as recorded in the verdict"

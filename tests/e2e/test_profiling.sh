# Profiling: stage timings, events.jsonl, and container statistics from the
# engine's events (created, started, start-up times, peak running, left
# behind), checked against a `docker events` subscription of the test's own.
source "$(dirname "$0")/lib.sh"

run='"for i in 1 2 3; do docker run --detach $EMULATOR_IMAGE >/dev/null; done; sleep 1; docker rm --force $(docker ps --quiet --filter ancestor=$EMULATOR_IMAGE) >/dev/null; echo done"'
write_demo_config v1 "$run" "    junit: \"reports/*.xml\""
sed -i '/^    junit:/d' "$scratch/gate.yaml"
"$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b" >/dev/null 2>&1 || fail "build"
docker events --format '{{json .}}' --filter type=container >"$scratch/own-events" 2>/dev/null &
own=$!
sleep 0.5
"$GATE_BIN" run --dry-run --config "$scratch/gate.yaml" --report-dir "$scratch/r" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "run ($(grep error "$scratch/err"))"
sleep 1
kill "$own"; wait "$own" 2>/dev/null
count() {  # action
  python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    src = e.get("from", "")
    if e.get("Action", e.get("status")) == sys.argv[3] and (src == sys.argv[2] or src.startswith(sys.argv[2] + "@") or src.startswith(sys.argv[2] + ":")):
        n += 1
print(n)' "$scratch/own-events" "$repository" "$1"
}
verdict="$scratch/r/verdict.json"
expect_eq "$(json_get "$verdict" 'v["containers"]["created"]')" "$(count create)" "containers created, against docker events"
expect_eq "$(json_get "$verdict" 'v["containers"]["started"]')" "$(count start)" "containers started, against docker events"
expect_eq "$(count create)" 3 "the consumer created 3 containers"
expect_eq "$(count destroy)" 3 "and they were removed"
expect_eq "$(json_get "$verdict" 'v["containers"]["left_behind"]')" "[]" "none left behind"
expect_eq "$(json_get "$verdict" 'v["containers"]["peak_running"]')" 3 "peak running at once"
expect_eq "$(json_get "$verdict" 'sum(s["count"] for s in v["containers"]["startup_seconds"].values())')" 3 "start-ups measured"
json_get "$verdict" 'all(0 < s["min"] <= s["mean"] <= s["max"] < 30 and s["min"] <= s["p95"] <= s["max"] for s in v["containers"]["startup_seconds"].values())' |
  grep -q True || fail "start-up statistics are not ordered: $(json_get "$verdict" 'v["containers"]')"
# The event log: every stage, and one line per container event.
[ -s "$scratch/r/events.jsonl" ] || fail "no events.jsonl"
stages=$(python3 -c 'import json,sys; print(sorted({e["name"] for e in map(json.loads, open(sys.argv[1])) if e["type"]=="stage"}))' "$scratch/r/events.jsonl")
expect_eq "$stages" "['build', 'checkout:emucli', 'push', 'test:emucli']" "stage events"
container_events=$(python3 -c 'import json,sys; print(sum(1 for e in map(json.loads, open(sys.argv[1])) if e["type"]=="container"))' "$scratch/r/events.jsonl")
expect_eq "$container_events" "$(( $(count create) + $(count start) + $(count die) + $(count destroy) ))" "container events logged"
expect_file_contains "$scratch/r/summary.md" "3 created, peak 3 running at once, 0 left behind" "summary line"

# gate's own CPU time, the tests' processes not included: a consumer that
# burns 2 s of CPU leaves gate's cpu_seconds far below that (and above 0).
write_demo_config v1 '["/usr/bin/python3", "-c", "import time\nend = time.process_time() + 2\nwhile time.process_time() < end: pass"]'
sed -i '/^    junit:/d' "$scratch/gate.yaml"
"$GATE_BIN" run --dry-run --config "$scratch/gate.yaml" --report-dir "$scratch/cpu" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "run of the busy consumer ($(grep error "$scratch/err"))"
expect_eq "$(json_get "$scratch/cpu/verdict.json" '0 < v["cpu_seconds"] < 1.0')" True \
  "gate's own CPU time, not its children's ($(json_get "$scratch/cpu/verdict.json" 'v["cpu_seconds"]') s)"

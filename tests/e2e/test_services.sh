# Service containers: the candidate started as a service with a published
# port and a readiness check before the consumer runs, its address given as
# ${SERVICE_<NAME>_HOST}/_PORT, and removed afterwards; a service that never
# becomes ready fails the consumer clearly, and is removed too.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
pushed=$("$GATE_BIN" build --config "$scratch/gate.yaml" --report-dir "$scratch/b" 2>/dev/null)
digest=${pushed##*@}
cat >"$scratch/svc.yaml" <<YAML
version: 1
image: {repository: $repository}
consumers:
  - name: http
    repo: $GATE_BUILD_DIR/demo/consumer
    ref: main
    services:
      - name: emu
        ports: [8080]
        ready: {tcp: 8080}
    env: {EMULATOR_URL: "http://\${SERVICE_EMU_HOST}:\${SERVICE_EMU_PORT}"}
    run: "curl -sf \$EMULATOR_URL/health && curl -sf -X POST -d '{\"name\":\"a\"}' \$EMULATOR_URL/items && echo; echo port=\$SERVICE_EMU_PORT_8080"
YAML
"$GATE_BIN" test --config "$scratch/svc.yaml" --candidate "$repository@$digest" --report-dir "$scratch/r1" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "consumer against the candidate as a service ($(grep error "$scratch/err"))"
expect_file_contains "$scratch/r1/logs/http.log" '{"status":"ok"}' "the service answered"
expect_file_contains "$scratch/r1/logs/http.log" '"id":"item-1"' "the service's API answered"
expect_file_contains "$scratch/r1/logs/http.log" "port=[0-9]" "per-port variable"
expect_file_contains "$scratch/err" "service emu ready at 127.0.0.1:" "readiness reported"
[ -z "$(containers_of_repository)" ] || fail "service containers left behind: $(containers_of_repository)"

# A service's start-up lasts until it is ready, not only until it runs: with a
# readiness check that takes a second, its start-up is at least that long.
sed 's/ready: {tcp: 8080}/ready: {command: ["sleep", "1"]}/' "$scratch/svc.yaml" >"$scratch/slow.yaml"
"$GATE_BIN" test --config "$scratch/slow.yaml" --candidate "$repository@$digest" --report-dir "$scratch/r3" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "a service with a slow readiness check"
expect_eq "$(json_get "$scratch/r3/verdict.json" 'sum(s["count"] for s in v["containers"]["startup_seconds"].values())')" 1 \
  "one start-up (the service)"
json_get "$scratch/r3/verdict.json" 'min(s["min"] for s in v["containers"]["startup_seconds"].values()) >= 1.0' | grep -q True ||
  fail "the service's start-up does not include its readiness: $(json_get "$scratch/r3/verdict.json" 'v["containers"]["startup_seconds"]')"

# A service that never becomes ready: the consumer fails saying which, nothing left.
sed -i 's/ready: {tcp: 8080}/ready: {command: ["false"]}\n        ready_timeout: 2s/' "$scratch/svc.yaml"
"$GATE_BIN" test --config "$scratch/svc.yaml" --candidate "$repository@$digest" --report-dir "$scratch/r2" >/dev/null 2>"$scratch/err"
expect_eq "$?" 1 "a service that is never ready"
expect_file_contains "$scratch/err" "consumer 'http' service 'emu' ($repository@$digest) not ready within 2s" "says which service"
expect_eq "$(json_get "$scratch/r2/verdict.json" 'v["consumers"][0]["status"]')" error "consumer status"
expect_eq "$(json_get "$scratch/r2/verdict.json" 'sum(s["count"] for s in v["containers"]["startup_seconds"].values())')" 0 \
  "a service that never became ready is not a successful start-up"
[ -z "$(containers_of_repository)" ] || fail "service containers left behind after a failure: $(containers_of_repository)"

# The registry's credentials are gate's: a consumer that prints its
# environment (and its services) never sees them.
sed -i 's|    run: "curl -sf|    run: "env; curl -sf|' "$scratch/svc.yaml"
sed -i 's/ready: {command: \["false"\]}/ready: {tcp: 8080}/; /ready_timeout: 2s/d' "$scratch/svc.yaml"
GATE_REGISTRY_USER=gate-bot GATE_REGISTRY_PASSWORD="s3cret-$$" \
  "$GATE_BIN" test --config "$scratch/svc.yaml" --candidate "$repository@$digest" --report-dir "$scratch/r4" >/dev/null 2>"$scratch/err4"
expect_eq "$?" 0 "a consumer that prints its environment ($(grep error "$scratch/err4" | head -2))"
expect_file_contains "$scratch/r4/logs/http.log" "GATE_CANDIDATE_DIGEST=$digest" "the consumer's environment was printed"
grep -rq "s3cret-$$" "$scratch/r4" "$scratch/err4" && fail "the registry password reached the consumer or the reports"
grep -q "GATE_REGISTRY_USER" "$scratch/r4/logs/http.log" && fail "the registry user reached the consumer"
true

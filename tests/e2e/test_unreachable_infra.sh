# No registry or no engine reachable: exit 3, saying which and how to start it.
source "$(dirname "$0")/lib.sh"

# A port nobody listens on.
closed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
write_demo_config v1
sed -i "s|$GATE_REGISTRY|127.0.0.1:$closed_port|" "$scratch/gate.yaml"
"$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/r1" >/dev/null 2>"$scratch/err"
expect_eq "$?" 3 "exit code without a registry"
expect_file_contains "$scratch/err" "registry not reachable" "says the registry is not reachable"
expect_file_contains "$scratch/err" "127.0.0.1:$closed_port" "names the registry"
expect_file_contains "$scratch/err" "docker-registry serve" "says how to start one"
expect_eq "$(json_get "$scratch/r1/verdict.json" 'v["exit_code"]')" 3 "verdict records the infrastructure error"

write_demo_config v1
DOCKER_HOST="unix://$scratch/no-such-docker.sock" "$GATE_BIN" run --config "$scratch/gate.yaml" \
  --report-dir "$scratch/r2" >/dev/null 2>"$scratch/err"
expect_eq "$?" 3 "exit code without an engine"
expect_file_contains "$scratch/err" "container engine not reachable at unix://$scratch/no-such-docker.sock" "names the engine"
expect_file_contains "$scratch/err" "dockerd" "says how to start it"
expect_eq "$(tag_digest "$repository" latest)" none "nothing published"

# The engine's socket answers, but there is no docker CLI to build, push or
# start services with: said before anything runs, not mid-run.
write_demo_config v1
mkdir -p "$scratch/empty-bin"
PATH="$scratch/empty-bin" "$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/r4" >/dev/null 2>"$scratch/err"
expect_eq "$?" 3 "exit code without a docker CLI"
expect_file_contains "$scratch/err" "install the docker CLI" "says to install the CLI"
expect_eq "$(tag_digest "$repository" latest)" none "nothing published"

# A consumer repository that does not exist: exit 3 naming consumer, URL and ref.
write_demo_config v1
sed -i "s|repo: .*|repo: $scratch/no-such-repo|" "$scratch/gate.yaml"
"$GATE_BIN" run --config "$scratch/gate.yaml" --report-dir "$scratch/r3" >/dev/null 2>"$scratch/err"
expect_eq "$?" 3 "exit code for a missing consumer repository"
expect_file_contains "$scratch/err" "checkout of consumer 'emucli' ($scratch/no-such-repo at main)" "names consumer, URL and ref"
expect_eq "$(tag_digest "$repository" latest)" none "nothing published"

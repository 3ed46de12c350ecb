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
# scripts/test runs two tests at once. The images of one test are its own,
# so its gates keep the engine's phase ledger to themselves: another test's
# gate, mid-phase, would otherwise make this one's clean-up wait for it
# (test_shared_engine, run alone, keeps the default ledger).
export GATE_LEDGER_DIR="$scratch/ledger"

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

# A test's reported seconds against how long it sleeps. The bounds tell the
# test's own time from a batch's or the whole run's (seconds longer) and from
# none (zero); a loaded machine may run a sleep late, so the upper bound
# leaves half a second, not a few milliseconds (a 0.5 s sleep measured
# 0.551 s on a busy CI machine).
expect_seconds_near() {  # verdict test-selector-expression nominal what
  local s
  s=$(json_get "$1" "[t['seconds'] for t in v['consumers'][0]['tests'] if $2][0]")
  python3 -c 'import sys; s, n = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if 0.9 * n <= s <= n + 0.5 else 1)' "$s" "$3" ||
    fail "$4: ${s:-none} s for a $3 s test"
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

# Builds and pushes the demo emulator as revision NAME of this test's
# repository, with the fault knob BREAK ("", writes, delete); prints its
# digest. $scratch/build-NAME.yaml can publish it.
build_emulator() {  # name break
  cat >"$scratch/build-$1.yaml" <<YAML
version: 1
image:
  repository: $repository
  context: $GATE_BUILD_DIR/demo/image
  build_args: {CONTRACT: v1, REVISION: "$1-$$", BREAK: "$2"}
  candidate_tag: "pr-$1-$$"
  publish_tags: [latest]
consumers: [{name: none, repo: /nonexistent, run: "true"}]
YAML
  local out
  out=$("$GATE_BIN" build --config "$scratch/build-$1.yaml" --report-dir "$scratch/build-$1" 2>"$scratch/build-$1.err")
  echo "${out##*@}"
}

# Containers (any state) created from any image of this test's repository.
containers_of_repository() {
  local ids
  ids=$(docker images --quiet --no-trunc "$repository" 2>/dev/null | sort -u)
  for id in $ids; do docker ps --all --quiet --filter "ancestor=$id"; done | sort -u
}

# ---- Helpers for registry tests: extra registries, a fault proxy, a token realm.
tools="$(dirname "${BASH_SOURCE[0]}")/../tools"
background_pids=()
stop_background() {
  for pid in "${background_pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
}
trap 'rc=$?; stop_background; (exit $rc); finish' EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for_file() {  # file
  for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.05; done
  fail "timed out waiting for $1"
  return 1
}

# Starts another docker-registry with its own storage; AUTH_YAML is the
# indented body of an "auth:" section, or empty. Sets $address to host:port.
# (The start_* helpers set $address rather than print it: a server started
# inside $(...) would not be stopped at the end.)
start_registry() {  # name [auth-yaml]
  local name=$1 auth=${2:-} port
  port=$(free_port)
  mkdir -p "$scratch/$name/storage"
  {
    echo "version: 0.1"
    echo "log: {level: error}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: $scratch/$name/storage}"
    echo "  delete: {enabled: true}"
    echo "http: {addr: 127.0.0.1:$port}"
    if [ -n "$auth" ]; then printf 'auth:\n%s\n' "$auth"; fi
  } >"$scratch/$name/config.yml"
  docker-registry serve "$scratch/$name/config.yml" >"$scratch/$name/log" 2>&1 &
  background_pids+=($!)
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")
    [ "$code" = 200 ] || [ "$code" = 401 ] && break
    sleep 0.05
  done
  address="127.0.0.1:$port"
}

# Starts the fault proxy in front of UPSTREAM; rules in $scratch/rules.json,
# request log in $scratch/proxy.jsonl. Sets $address.
start_fault_proxy() {  # upstream
  rm -f "$scratch/proxy.port"
  python3 "$tools/fault_proxy.py" "$1" "$scratch/rules.json" "$scratch/proxy.jsonl" "$scratch/proxy.port" \
    >"$scratch/proxy.out" 2>&1 &
  background_pids+=($!)
  wait_for_file "$scratch/proxy.port"
  address="127.0.0.1:$(cat "$scratch/proxy.port")"
}

# Requests the proxy logged matching METHOD and a path regex (and, when
# given, the status the registry answered).
proxy_count() {  # method path-regex [status]
  python3 -c '
import json, re, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["method"] == sys.argv[2] and re.search(sys.argv[3], e["path"]) and \
            (len(sys.argv) < 5 or str(e.get("status")) == sys.argv[4]):
        n += 1
print(n)' "$scratch/proxy.jsonl" "$1" "$2" ${3:+"$3"} 2>/dev/null || echo 0
}

# Starts a token realm (user gate-bot / password $2) and a registry that
# trusts it. Sets $address to the registry's host:port; tokens issued go to $scratch/tokens.log.
start_token_registry() {  # name password
  local name=$1 password=$2 tport
  mkdir -p "$scratch/$name"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$scratch/$name/key.pem" -out "$scratch/$name/cert.pem" \
    -days 2 -subj "/CN=gate-test-token-issuer" >/dev/null 2>&1
  rm -f "$scratch/$name/token.port"
  python3 "$tools/token_server.py" "$scratch/$name/key.pem" gate-bot "$password" gate-test-issuer \
    "$scratch/tokens.log" "$scratch/$name/token.port" >"$scratch/$name/token.out" 2>&1 &
  background_pids+=($!)
  wait_for_file "$scratch/$name/token.port"
  tport=$(cat "$scratch/$name/token.port")
  start_registry "$name" "  token:
    realm: http://127.0.0.1:$tport/token
    service: gate-test
    issuer: gate-test-issuer
    rootcertbundle: $scratch/$name/cert.pem"
}

# A registry with htpasswd basic auth for user gate-bot.
start_htpasswd_registry() {  # name password
  mkdir -p "$scratch/$1"
  htpasswd -Bbn gate-bot "$2" >"$scratch/$1/htpasswd"
  start_registry "$1" "  htpasswd:
    realm: gate-test
    path: $scratch/$1/htpasswd"
}

# Copies an image (all platforms, digests kept) between registries with skopeo.
copy_image() {  # src-ref dst-ref [dest-creds]
  local creds=()
  [ -n "${3:-}" ] && creds=(--dest-creds "$3")
  skopeo copy -q --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false "${creds[@]}" \
    "docker://$1" "docker://$2" >/dev/null
}

raw_manifest() {  # ref [creds]
  local creds=()
  [ -n "${2:-}" ] && creds=(--creds "$2")
  skopeo inspect --raw --tls-verify=false "${creds[@]}" "docker://$1"
}

# Writes $scratch/publish.yaml: candidate repository $1, publish tags $2
# (YAML list), extra image keys $3.
write_publish_config() {  # repository tags [extra]
  cat >"$scratch/publish.yaml" <<YAML
version: 1
image:
  repository: $1
  publish_tags: $2
${3:-}
consumers:
  - {name: none, repo: /nonexistent, run: "true"}
YAML
}

# ---- Helpers for checkout tests: repositories and git servers on loopback.
git_quiet() { git -c user.name=gate-test -c user.email=test@gate.invalid -c init.defaultBranch=main "$@"; }

# Makes a repository with one commit per argument (each writes a file).
make_repo() {  # dir [commit-names...]
  local dir=$1
  shift
  git_quiet init -q "$dir"
  for name in "${@:-first}"; do
    echo "$name" >"$dir/$name.txt"
    git_quiet -C "$dir" add -A
    git_quiet -C "$dir" commit -q -m "$name"
  done
}

# Serves every repository under BASE over git:// (git daemon). Sets $address.
start_git_daemon() {  # base
  local port
  port=$(free_port)
  git daemon --reuseaddr --export-all --enable=receive-pack --base-path="$1" --listen=127.0.0.1 --port="$port" "$1" \
    >"$scratch/git-daemon.log" 2>&1 &
  background_pids+=($!)
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  address="git://127.0.0.1:$port"
}

# Serves BASE over smart HTTP: git-http-backend behind lighttpd, with Basic
# auth for USER:PASSWORD when given; over TLS when $git_http_pem names a
# PEM file holding the server's certificate and key. Sets $address
# (http(s)://127.0.0.1:PORT/git).
start_git_http() {  # base [user password]
  local base=$1 user=${2:-} password=${3:-} port dir="$scratch/lighttpd"
  port=$(free_port)
  mkdir -p "$dir/www"
  {
    echo "server.document-root = \"$dir/www\""
    echo "server.bind = \"127.0.0.1\""
    echo "server.port = $port"
    echo "server.errorlog = \"$dir/error.log\""
    echo "server.modules = (\"mod_alias\", \"mod_cgi\", \"mod_setenv\", \"mod_auth\", \"mod_authn_file\")"
    if [ -n "${git_http_pem:-}" ]; then
      echo "server.modules += (\"mod_openssl\")"
      echo "ssl.engine = \"enable\""
      echo "ssl.pemfile = \"$git_http_pem\""
    fi
    echo "alias.url = (\"/git\" => \"/usr/lib/git-core/git-http-backend\")"
    echo "\$HTTP[\"url\"] =~ \"^/git\" {"
    echo "  cgi.assign = (\"\" => \"\")"
    echo "  setenv.add-environment = (\"GIT_PROJECT_ROOT\" => \"$base\", \"GIT_HTTP_EXPORT_ALL\" => \"\")"
    if [ -n "$user" ]; then
      echo "  auth.backend = \"plain\""
      echo "  auth.backend.plain.userfile = \"$dir/users\""
      echo "  auth.require = (\"\" => (\"method\" => \"basic\", \"realm\" => \"git\", \"require\" => \"valid-user\"))"
    fi
    echo "}"
  } >"$dir/lighttpd.conf"
  [ -n "$user" ] && echo "$user:$password" >"$dir/users"
  lighttpd -D -f "$dir/lighttpd.conf" >"$dir/out.log" 2>&1 &
  background_pids+=($!)
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  address="http${git_http_pem:+s}://127.0.0.1:$port/git"
}

# A TCP server that accepts connections and never answers. Sets $address (host:port).
start_stalled_server() {
  rm -f "$scratch/stall.port"
  python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
conns = []
while True:
    c, _ = s.accept(); conns.append(c)' "$scratch/stall.port" >/dev/null 2>&1 &
  background_pids+=($!)
  wait_for_file "$scratch/stall.port"
  address="127.0.0.1:$(cat "$scratch/stall.port")"
}

# A TCP proxy to UPSTREAM (host:port) that passes the first 64 KiB the
# server sends, then one byte every half second: a transfer that stalls
# mid-way without ever going silent. Sets $address (host:port).
start_trickling_proxy() {  # upstream
  rm -f "$scratch/trickle.port"
  python3 -c '
import os, socket, sys, threading, time
host, port = sys.argv[2].split(":")
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
def pump(src, dst, limit):
    sent = 0
    try:
        while True:
            data = src.recv(65536)
            if not data: break
            if limit is None or sent + len(data) <= limit:
                dst.sendall(data); sent += len(data); continue
            head = max(0, limit - sent)
            dst.sendall(data[:head]); sent += head
            for b in data[head:]:
                dst.sendall(bytes([b])); time.sleep(0.5)
    except OSError:
        pass
while True:
    c, _ = s.accept(); u = socket.create_connection((host, int(port)))
    threading.Thread(target=pump, args=(c, u, None), daemon=True).start()
    threading.Thread(target=pump, args=(u, c, 65536), daemon=True).start()' "$scratch/trickle.port" "$1" >/dev/null 2>&1 &
  background_pids+=($!)
  wait_for_file "$scratch/trickle.port"
  address="127.0.0.1:$(cat "$scratch/trickle.port")"
}

# Writes $scratch/checkout.yaml with one consumer; extra consumer keys as $3,
# its run command as $4 (default: true).
write_checkout_config() {  # repo ref [extra-lines] [run]
  cat >"$scratch/checkout.yaml" <<YAML
version: 1
image: {repository: $GATE_REGISTRY/e2e/checkout-$$}
consumers:
  - name: app
    repo: $1
    ref: "$2"
    run: "${4:-true}"
${3:-}
YAML
}

# `gate checkout` of the config: sets $commit and $checkout_rc (no subshell,
# so both survive), stderr in $scratch/checkout.err.
do_checkout() {  # [extra gate args]
  local out
  out=$("$GATE_BIN" checkout --config "$scratch/checkout.yaml" --cache-dir "${cache_dir:-$scratch/cache}" "$@" 2>"$scratch/checkout.err")
  checkout_rc=$?
  commit=${out#app }
}

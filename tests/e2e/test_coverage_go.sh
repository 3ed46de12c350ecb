# Coverage of a Go candidate under the consumers' tests, merged across 2
# shards. The candidate (a small Go program, `go build -cover`, FROM scratch)
# is run two ways: by the consumer's own tests (docker run with $GOCOVERDIR
# mounted) and as a service gate starts (gate mounts the directory and stops
# the service with SIGTERM, so its counters are written). Each shard's
# report has a percentage; the merged one is higher than either (the shards
# ran different code) and below 100 (the usage branch never runs).
source "$(dirname "$0")/lib.sh"

# Go >= 1.20 (go build -cover, go tool covdata): scripts/bootstrap installs
# golang-1.22-go from Debian's bookworm-backports (Debian 12's own Go is 1.19).
go_bin=""
for candidate_go in "$(command -v go 2>/dev/null)" $(ls -d /usr/lib/go-1.*/bin/go 2>/dev/null | sort -V -r); do
  [ -x "$candidate_go" ] || continue
  minor=$("$candidate_go" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
  if [ -n "$minor" ] && [ "$minor" -ge 20 ]; then go_bin=$candidate_go; break; fi
done
if [ -z "$go_bin" ]; then
  fail "no Go >= 1.20 here (scripts/bootstrap installs golang-1.22-go from bookworm-backports)"
  exit 1
fi

# The candidate.
src=$scratch/calc
mkdir -p "$src"
cat >"$src/go.mod" <<'GO'
module example.com/calc

go 1.20
GO
cat >"$src/main.go" <<'GO'
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func add(a, b int) int { return a + b }

func mul(a, b int) int {
	product := 0
	for i := 0; i < b; i++ {
		product += a
	}
	return product
}

// serve answers "pong" on every connection until SIGTERM, then returns
// from main, so the coverage counters are written.
func serve() {
	listener, err := net.Listen("tcp", ":8080")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(conn, "pong")
			conn.Close()
		}
	}()
	<-stop
	listener.Close()
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: calc add|mul A B | serve")
	os.Exit(2)
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "serve" {
		serve()
		return
	}
	if len(os.Args) != 4 {
		usage()
	}
	a, errA := strconv.Atoi(os.Args[2])
	b, errB := strconv.Atoi(os.Args[3])
	if errA != nil || errB != nil {
		usage()
	}
	switch os.Args[1] {
	case "add":
		fmt.Println(add(a, b))
	case "mul":
		fmt.Println(mul(a, b))
	default:
		usage()
	}
}
GO
(cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod HOME=$scratch \
  GOCACHE=$scratch/gocache GOPATH=$scratch/gopath "$go_bin" build -cover -o calc .) >"$scratch/go-build.log" 2>&1 ||
  fail "go build -cover: $(cat "$scratch/go-build.log")"
printf 'FROM scratch\nCOPY calc /calc\nENTRYPOINT ["/calc"]\nCMD ["serve"]\n' >"$src/Dockerfile"
docker build -q -t "$repository:cover" "$src" >/dev/null && docker push -q "$repository:cover" >/dev/null || fail "build and push the candidate"
digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$repository:cover")

# The consumer: CLI tests (they run the candidate themselves, with
# $GOCOVERDIR mounted) and a service test (gate runs the candidate).
consumer=$scratch/consumer
mkdir -p "$consumer/cli_tests" "$consumer/service_tests"
cat >"$consumer/cli_tests/test_calc.py" <<'PY'
import os
import subprocess


def calc(*args):
    cov = os.environ["GOCOVERDIR"]
    return subprocess.run(["docker", "run", "--rm", "-v", f"{cov}:{cov}", "-e", f"GOCOVERDIR={cov}",
                           os.environ["CALC_IMAGE"], *args], capture_output=True, text=True, check=True).stdout.strip()


def test_add():
    assert calc("add", "2", "3") == "5"


def test_mul():
    assert calc("mul", "4", "3") == "12"
PY
cat >"$consumer/service_tests/test_ping.py" <<'PY'
import os
import socket


def ping():
    host, port = os.environ["CALC_ADDR"].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        return s.makefile().readline().strip()


def test_pong():
    assert ping() == "pong"


def test_pong_again():  # so that each of the 2 shards has a service test
    assert ping() == "pong"
PY
make_repo "$consumer" >/dev/null 2>&1
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m tests

cat >"$scratch/gate.yaml" <<YAML
version: 1
image:
  repository: $repository
  publish_tags: [latest]
coverage: {kind: go, go: $go_bin}
consumers:
  - name: calc-cli
    repo: $consumer
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider"]
    tests: [cli_tests]
    shards: 2
    env: {CALC_IMAGE: "\${CANDIDATE_REF}"}
  - name: calc-service
    repo: $consumer
    ref: main
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider"]
    tests: [service_tests]
    shards: 2
    services:
      - name: calc
        ports: [8080]
        ready: {tcp: 8080}
    env: {CALC_ADDR: "\${SERVICE_CALC_HOST}:\${SERVICE_CALC_PORT}"}
YAML
"$GATE_BIN" validate --config "$scratch/gate.yaml" >/dev/null 2>"$scratch/err" || fail "config invalid: $(cat "$scratch/err")"

for k in 1 2; do
  "$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$digest" --shard "$k/2" \
    --cache-dir "$scratch/cache-$k" --report-dir "$scratch/shard-$k" >/dev/null 2>"$scratch/err-$k"
  expect_eq "$?" 0 "shard $k/2 passes ($(grep -i 'error' "$scratch/err-$k" | head -n 3))"
done
"$GATE_BIN" merge --config "$scratch/gate.yaml" --report-dir "$scratch/merged" --cache-dir "$scratch/cache-m" \
  "$scratch/shard-1" "$scratch/shard-2" >/dev/null 2>"$scratch/err-m"
expect_eq "$?" 0 "merge ($(grep -i error "$scratch/err-m" | head -n 3))"

percent() { json_get "$1/verdict.json" 'v.get("coverage", {}).get("percent", v.get("coverage", {}).get("error", "none"))'; }
p1=$(percent "$scratch/shard-1"); p2=$(percent "$scratch/shard-2"); pm=$(percent "$scratch/merged")
echo "coverage: shard 1 $p1%, shard 2 $p2%, merged $pm%"
for p in "$p1" "$p2" "$pm"; do
  python3 -c 'import sys; sys.exit(0 if 0 < float(sys.argv[1]) < 100 else 1)' "$p" 2>/dev/null ||
    fail "a coverage percentage between 0 and 100 exclusive was expected, got '$p'"
done
python3 -c 'import sys; a, b, m = map(float, sys.argv[1:]); sys.exit(0 if m > max(a, b) else 1)' "$p1" "$p2" "$pm" 2>/dev/null ||
  fail "merged coverage ($pm%) is not above both shards' ($p1%, $p2%)"
# Every shard and the merge saw counters of both the CLI runs and the service.
expect_eq "$(json_get "$scratch/merged/verdict.json" 'v["coverage"]["directories"]')" 4 "counter directories merged (2 consumers x 2 shards)"
# The service's code (serve) is covered: the merged profile has a counted block in serve.
python3 - "$scratch/merged/coverage/coverage.txt" <<'PY' || fail "the merged profile does not show serve() covered"
import sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0].startswith("mode:"), lines[0]
# serve() spans the lines after 'func serve'; main.go line numbers: find a counted block there.
covered = [l for l in lines[1:] if l.startswith("example.com/calc/main.go:") and int(l.rsplit(" ", 1)[1]) > 0]
lines_covered = {int(l.split(":")[1].split(".")[0]) for l in covered}
assert any(24 <= n <= 44 for n in lines_covered), sorted(lines_covered)
PY
expect_file_contains "$scratch/merged/summary.md" "Coverage of the candidate (go): $pm% of" "summary.md shows the merged coverage"
expect_file_contains "$scratch/merged/report.html" 'id="coverage"' "report.html shows the coverage"
[ -s "$scratch/merged/coverage/coverage.txt" ] || fail "no merged profile"
# gate's percentage is Go's own: `go tool covdata percent` on the merged counters (one package here).
go_says=$("$go_bin" tool covdata percent -i="$scratch/merged/coverage/merged" 2>&1 | sed -n 's/.*coverage: \([0-9.]*\)% of statements.*/\1/p')
expect_eq "$go_says" "$pm" "go tool covdata percent agrees with the merged percentage"

# runner: go with prebuild: each package's tests compiled once (`go test -c`,
# counted through a logging `go`), the binaries reused by 2 workers; a
# failing test is a regression, a hung one is stopped at test_timeout.
source "$(dirname "$0")/lib.sh"

consumer="$scratch/consumer"
mkdir -p "$consumer/a" "$consumer/b" "$scratch/bin"
printf 'module example.com/consumer\n\ngo 1.19\n' >"$consumer/go.mod"
cat >"$consumer/a/a_test.go" <<'GO'
package a

import (
	"os"
	"testing"
	"time"
)

func TestOne(t *testing.T) {
	if _, err := os.Stat("a_test.go"); err != nil {
		t.Fatal("not run in the package directory")
	}
}
func TestTwo(t *testing.T)  { t.Fatal("contract broken: expected 201") }
func TestSlow(t *testing.T) { time.Sleep(300 * time.Millisecond) }
GO
cat >"$consumer/b/b_test.go" <<GO
package b

import (
	"testing"
	"time"
)

func TestThree(t *testing.T) { t.Run("sub", func(t *testing.T) {}) }
func TestFour(t *testing.T)  { time.Sleep(100 * time.Millisecond) }
func TestHang(t *testing.T)  { time.Sleep(1000$$ * time.Second) }
func TestFive(t *testing.T)  {}
GO
make_repo "$consumer" >/dev/null 2>&1 || true
git_quiet -C "$consumer" add -A && git_quiet -C "$consumer" commit -q -m go
cat >"$scratch/bin/go" <<SH
#!/bin/sh
echo "\$*" >>"$scratch/go.log"
exec /usr/bin/go "\$@"
SH
chmod +x "$scratch/bin/go"
export GOCACHE="$scratch/gocache" GOPATH="$scratch/gopath" GOFLAGS=-mod=mod

candidate=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "${repository#$GATE_REGISTRY/}" candidate)
cat >"$scratch/gate.yaml" <<YAML
version: 1
image: {repository: $repository}
consumers:
  - name: gocli
    repo: $consumer
    ref: main
    runner: go
    run: ["$scratch/bin/go"]
    tests: ["./..."]
    prebuild: true
    parallel: 2
    test_timeout: 3s
YAML
"$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$candidate" --report-dir "$scratch/r" \
  >/dev/null 2>"$scratch/err"
expect_eq "$?" 1 "a failing Go test blocks"
outcomes=$(json_get "$scratch/r/verdict.json" '" ".join(sorted(t["id"].split("/")[-1] + "=" + t["outcome"] for t in v["consumers"][0]["tests"]))')
expect_eq "$outcomes" "a::TestOne=passed a::TestSlow=passed a::TestTwo=regression b::TestFive=passed b::TestFour=passed b::TestHang=timed-out b::TestThree=passed" "outcomes"
expect_eq "$(grep -c '^test -c' "$scratch/go.log")" 2 "test binaries compiled once per package"
grep -q '^test .*-run' "$scratch/go.log" && fail "a worker ran 'go test -run' instead of the prebuilt binary"
expect_file_contains "$scratch/err" "prebuilt 2 test binaries once for every worker" "says so"
expect_file_contains "$scratch/r/summary.md" "contract broken: expected 201" "the failure message"
pgrep -f "b.test" >/dev/null && fail "the hung test binary was left running"
true

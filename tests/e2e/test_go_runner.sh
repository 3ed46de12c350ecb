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
	"path/filepath"
	"strings"
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
func TestZZListing(t *testing.T) {
	var names []string
	filepath.Walk("..", func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			names = append(names, path)
		}
		return nil
	})
	os.WriteFile(os.Getenv("LISTING"), []byte(strings.Join(names, " ")), 0o644)
}
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

export LISTING="$scratch/listing.txt"
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
expect_eq "$outcomes" "a::TestOne=passed a::TestSlow=passed a::TestTwo=regression a::TestZZListing=passed b::TestFive=passed b::TestFour=passed b::TestHang=timed-out b::TestThree=passed" "outcomes"
expect_eq "$(grep -c '^test -c' "$scratch/go.log")" 2 "test binaries compiled once per package"
grep -q '^test .*-run' "$scratch/go.log" && fail "a worker ran 'go test -run' instead of the prebuilt binary"
expect_file_contains "$scratch/err" "prebuilt 2 test binaries once for every worker" "says so"
expect_file_contains "$scratch/r/summary.md" "contract broken: expected 201" "the failure message"
pgrep -f "$scratch/r/.*b\\.test" >/dev/null && fail "the hung test binary was left running"

# With the default (relative) report directory: per-test seconds, the
# failure's message, and nothing of gate's in the checkout (the prebuilt
# binaries go to the report directory).
mkdir -p "$scratch/cwd"
(cd "$scratch/cwd" && "$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$candidate" >/dev/null 2>&1)
verdict="$scratch/cwd/gate-report/verdict.json"
expect_seconds_near "$verdict" 't["id"].endswith("a::TestSlow")' 0.3 "go per-test seconds"
json_get "$verdict" '[t.get("message") for t in v["consumers"][0]["tests"] if t["id"].endswith("a::TestTwo")][0]' |
  grep -q "a_test.go:[0-9]*: contract broken: expected 201" || fail "the go failure's message: $(json_get "$verdict" '[t.get("message") for t in v["consumers"][0]["tests"] if t["id"].endswith("a::TestTwo")]')"
expect_eq "$(cat "$LISTING")" "../a/a_test.go ../b/b_test.go ../first.txt ../go.mod" "the checkout holds the consumer's files only"

# With a published image and baseline: true, the failing test fails there
# too: pre-existing; the test binaries were built again from the fresh
# worktree of the baseline (twice as many `go test -c` as packages).
published=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "${repository#$GATE_REGISTRY/}" latest)
sed -i "s|image: {repository: $repository}|image: {repository: $repository, publish_tags: [latest]}|; s/    test_timeout: 3s/    test_timeout: 3s\n    baseline: true/" "$scratch/gate.yaml"
: >"$scratch/go.log"
"$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$repository@$candidate" --report-dir "$scratch/base" \
  >/dev/null 2>"$scratch/base.err"
verdict="$scratch/base/verdict.json"
expect_eq "$(json_get "$verdict" '" ".join(sorted(t["id"].split("/")[-1] + "=" + t["outcome"] for t in v["consumers"][0]["tests"] if t["outcome"] != "passed"))')" \
  "a::TestTwo=pre-existing b::TestHang=timed-out" "go with a baseline"
expect_eq "$(json_get "$verdict" 'v["consumers"][0]["baseline"]["status"]')" used "baseline used"
expect_eq "$(grep -c '^test -c' "$scratch/go.log")" 3 "binaries built for the candidate (2 packages) and for the baseline's one failing package"
true

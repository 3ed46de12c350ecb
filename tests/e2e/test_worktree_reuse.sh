# Persistent worktrees: a warm checkout writes only what changed, and what a
# consumer run left, deleted, replaced or chmod-ed is put back, so the tree
# is byte-identical to a fresh checkout from an empty cache. Two gates at
# once get a tree each and run their tests at the same time.
source "$(dirname "$0")/lib.sh"

base="$scratch/served"
work="$base/app.work"
mkdir -p "$base"
git_quiet init -q "$work"
mkdir -p "$work/src/pkg" "$work/bin" "$work/docs"
for i in $(seq 1 40); do echo "module $i" >"$work/src/pkg/m$i.py"; done
for d in $(seq 1 15); do  # enough directories and files to move memory around
  mkdir -p "$work/lib/d$d"
  for f in $(seq 1 20); do echo "lib $d $f" >"$work/lib/d$d/f$f.txt"; done
done
printf '#!/bin/sh\necho hi\n' >"$work/bin/run.sh"
chmod +x "$work/bin/run.sh"
ln -s ../src/pkg/m1.py "$work/docs/link.py"
echo keep >"$work/docs/readme.txt"
printf '__pycache__/\nbuild/\n' >"$work/.gitignore"
# What the consumer's run does to its worktree: leaves files (untracked and
# ignored), deletes a tracked file, flips modes, rewrites a file keeping its
# size and mtime, turns a file into a directory, retargets a symlink,
# changes a file through a hard link, and makes a directory read-only.
cat >"$work/damage.sh" <<'SH'
set -e
echo junk >untracked.txt
mkdir -p build/out src/pkg/__pycache__
echo obj >build/out/a.o
echo pyc >src/pkg/__pycache__/m1.cpython-311.pyc
rm src/pkg/m2.py
chmod -x bin/run.sh
chmod +x docs/readme.txt
stamp=$(stat -c %y src/pkg/m3.py)
printf 'modulE 3\n' >src/pkg/m3.py
touch -d "$stamp" src/pkg/m3.py
rm src/pkg/m5.py && mkdir src/pkg/m5.py && echo inner >src/pkg/m5.py/inner
ln -sfn /etc/hostname docs/link.py
ln src/pkg/m6.py hard-m6 && echo more >>hard-m6
chmod 0500 docs
SH
# Damage that keeps every path: a rewrite keeping size and mtime, a chmod.
cat >"$work/retouch.sh" <<'SH'
set -e
stamp=$(stat -c %y src/pkg/m4.py)
printf 'modulE 4\n' >src/pkg/m4.py
touch -d "$stamp" src/pkg/m4.py
chmod +x src/pkg/m8.py
SH
git_quiet -C "$work" add -A
git_quiet -C "$work" commit -q -m one
git_quiet clone -q --bare "$work" "$base/app.git"
start_git_daemon "$base"
url="$address/app.git"
tracked=$(git -C "$work" ls-files | wc -l)

snapshot() {  # dir: every entry's type, mode, size and link target, and every file's content
  (cd "$1" && find . -mindepth 1 -printf '%y %m %s %p -> %l\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
tree_of() { ls -d "$1"/trees/app-*/"${2:-0}"; }
written() { sed -n 's/.*checked out .* (\([0-9]*\) files written).*/\1/p' "$scratch/checkout.err" | tail -n 1; }

# Cold: every tracked file written; the same tree as a checkout from another empty cache.
write_checkout_config "$url" main "" "sh damage.sh"
do_checkout
expect_eq "$checkout_rc" 0 "cold checkout ($(cat "$scratch/checkout.err"))"
expect_eq "$(written)" "$tracked" "cold checkout writes every tracked file"
cache_dir="$scratch/fresh" do_checkout
fresh=$(tree_of "$scratch/fresh")
snapshot "$fresh" >"$scratch/fresh.snap"
snapshot "$(tree_of "$scratch/cache")" >"$scratch/cold.snap"
cmp -s "$scratch/fresh.snap" "$scratch/cold.snap" || fail "two cold checkouts differ: $(diff "$scratch/fresh.snap" "$scratch/cold.snap" | head)"

# Warm, nothing new: nothing written, nothing changed.
do_checkout
expect_eq "$(written)" 0 "warm checkout with nothing new writes nothing"
snapshot "$(tree_of "$scratch/cache")" >"$scratch/idle.snap"
cmp -s "$scratch/fresh.snap" "$scratch/idle.snap" || fail "idle warm checkout changed the tree"

# The consumer's run damages its worktree; the next checkout repairs exactly that.
candidate=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "e2e/checkout-$$" c)
"$GATE_BIN" run --dry-run --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache" \
  --candidate "$GATE_REGISTRY/e2e/checkout-$$@$candidate" --report-dir "$scratch/r1" >/dev/null 2>"$scratch/run.err"
expect_eq "$?" 0 "the damaging consumer's run ($(tail -n 3 "$scratch/run.err"))"
[ -f "$(tree_of "$scratch/cache")/untracked.txt" ] || fail "the run did not happen in the cached tree"
do_checkout
expect_eq "$checkout_rc" 0 "warm checkout after the damage ($(cat "$scratch/checkout.err"))"
snapshot "$(tree_of "$scratch/cache")" >"$scratch/repaired.snap"
cmp -s "$scratch/fresh.snap" "$scratch/repaired.snap" ||
  fail "the repaired tree differs from a fresh checkout: $(diff "$scratch/fresh.snap" "$scratch/repaired.snap" | head -20)"
# m2 (deleted), run.sh and readme (modes), m3 (same size and mtime), m5
# (now a directory), link.py (retargeted), m6 (through a hard link).
expect_eq "$(written)" 7 "only the damaged files are written again"

# The same after an idle checkout, which finds the slot holding the tree it
# recorded and lists nothing: damage that keeps every path, so only each
# file's stat shows it, is still found and repaired.
do_checkout
expect_eq "$(written)" 0 "idle checkout after the repair"
write_checkout_config "$url" main "" "sh retouch.sh"
"$GATE_BIN" run --dry-run --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache" \
  --candidate "$GATE_REGISTRY/e2e/checkout-$$@$candidate" --report-dir "$scratch/r2" >/dev/null 2>"$scratch/run.err"
expect_eq "$?" 0 "the retouching consumer's run ($(tail -n 3 "$scratch/run.err"))"
[ -x "$(tree_of "$scratch/cache")/src/pkg/m8.py" ] || fail "the retouching run did not happen in the cached tree"
do_checkout
snapshot "$(tree_of "$scratch/cache")" >"$scratch/retouched.snap"
cmp -s "$scratch/fresh.snap" "$scratch/retouched.snap" ||
  fail "the retouched tree differs from a fresh checkout: $(diff "$scratch/fresh.snap" "$scratch/retouched.snap" | head -20)"
expect_eq "$(written)" 2 "only the two retouched files are written again"

# A new commit touching one file: one file written.
echo "module 7, changed" >"$work/src/pkg/m7.py"
git_quiet -C "$work" commit -q -am two
git_quiet -C "$work" push -q "$base/app.git" main
do_checkout
expect_eq "$commit" "$(git -C "$work" rev-parse main)" "warm checkout of the new commit"
expect_eq "$(written)" 1 "a one-file commit writes one file"
snapshot "$(tree_of "$scratch/cache")" >"$scratch/two.snap"
rm -rf "$scratch/fresh2"
cache_dir="$scratch/fresh2" do_checkout
snapshot "$(tree_of "$scratch/fresh2")" >"$scratch/fresh2.snap"
cmp -s "$scratch/fresh2.snap" "$scratch/two.snap" || fail "the updated tree differs from a fresh checkout of the new commit"

# A slot whose manifest is gone (a run killed mid-update) is wiped, not trusted.
echo stray >"$(tree_of "$scratch/cache")/stray.txt"
rm -f "$(tree_of "$scratch/cache")".manifest
do_checkout
expect_eq "$(written)" "$tracked" "a slot without a manifest is laid out from scratch"
[ ! -e "$(tree_of "$scratch/cache")/stray.txt" ] || fail "a file of unknown origin survived"

# Two gates at once: a tree each, and their tests overlap in time.
cat >"$scratch/checkout.yaml" <<YAML
version: 1
image: {repository: $GATE_REGISTRY/e2e/checkout-$$}
consumers:
  - name: app
    repo: $url
    ref: main
    run: "date +%s.%N > mark.start; sleep 2; date +%s.%N > mark.end"
YAML
for n in 1 2; do
  "$GATE_BIN" run --dry-run --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache" \
    --candidate "$GATE_REGISTRY/e2e/checkout-$$@$candidate" --report-dir "$scratch/c$n" >/dev/null 2>"$scratch/c$n.err" &
  eval "pid$n=$!"
done
wait "$pid1"; r1=$?; wait "$pid2"; r2=$?
expect_eq "$r1 $r2" "0 0" "two concurrent runs ($(tail -n 2 "$scratch/c1.err" "$scratch/c2.err"))"
t0=$(tree_of "$scratch/cache" 0) t1=$(tree_of "$scratch/cache" 1)
[ -f "$t0/mark.end" ] && [ -f "$t1/mark.end" ] || fail "the two runs did not get a tree each"
overlap=$(python3 -c "import sys; a,b,c,d=(float(open(f).read()) for f in sys.argv[1:]); print(int(a < d and c < b))" \
  "$t0/mark.start" "$t0/mark.end" "$t1/mark.start" "$t1/mark.end")
expect_eq "$overlap" 1 "the two runs' tests ran at the same time"

finish

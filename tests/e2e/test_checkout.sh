# Consumer checkouts from real git servers on loopback (git daemon, and
# git-http-backend behind lighttpd): cold clone, warm update, force-push,
# deleted ref, tags, abbreviated and pull-request refs, file:// URLs,
# submodules, token auth accepted and refused, a stalled server, a damaged
# cache, two gates on one cache, and bad URLs / refs.
source "$(dirname "$0")/lib.sh"

base="$scratch/served"
mkdir -p "$base"
make_repo "$base/app.git.work" one two
git_quiet clone -q --bare "$base/app.git.work" "$base/app.git"
work="$base/app.git.work"
push() { git_quiet -C "$work" push -q --force "$base/app.git" "$@"; }
start_git_daemon "$base"; daemon=$address
url="$daemon/app.git"

# Cold clone of a branch.
write_checkout_config "$url" main
do_checkout; got=$commit
expect_eq "$checkout_rc" 0 "cold clone exit ($(cat "$scratch/checkout.err"))"
expect_eq "$got" "$(git -C "$work" rev-parse main)" "cold clone commit"
ls "$scratch"/cache/mirrors/app-*.git >/dev/null 2>&1 || fail "no mirror in the cache"
[ ! -e "$scratch/cache/worktrees" ] || fail "per-run worktrees made: $(ls "$scratch/cache/worktrees")"
ls -d "$scratch"/cache/trees/app-*/0 >/dev/null 2>&1 || fail "no persistent worktree in the cache"
flock -n "$(ls "$scratch"/cache/trees/app-*/0.lock)" true || fail "the worktree is still held after the command"
# Only the ref asked for, at depth 1 (git:// too, spoken statelessly: the
# libgit2 1.8 shallow negotiation fails on a stateful connection): no other
# branch, tag or pull request of the remote is fetched, nor main's history.
mirror=$(ls -d "$scratch"/cache/mirrors/app-*.git)
expect_eq "$(git -C "$mirror" for-each-ref --format='%(refname)')" "refs/heads/main" "refs in the mirror"
expect_eq "$(git -C "$mirror" rev-list --count main)" 1 "commits in the mirror after a git:// checkout (depth 1)"
expect_eq "$(cat "$mirror/shallow" 2>/dev/null)" "$(git -C "$work" rev-parse main)" "the mirror is shallow at main"

# Warm update after new commits.
for i in 1 2 3; do echo "$i" >"$work/new$i.txt"; git_quiet -C "$work" add -A; git_quiet -C "$work" commit -q -m "new $i"; done
push main
do_checkout; got=$commit
expect_eq "$got" "$(git -C "$work" rev-parse main)" "warm update after new commits"
expect_eq "$(git -C "$mirror" rev-list --count main)" 1 "commits in the mirror after a warm git:// update (depth 1)"

# A force-pushed branch (history rewritten).
git_quiet -C "$work" reset -q --hard HEAD~2
echo rewritten >"$work/rewritten.txt"; git_quiet -C "$work" add -A; git_quiet -C "$work" commit -q -m rewritten
push main
do_checkout; got=$commit
expect_eq "$got" "$(git -C "$work" rev-parse main)" "force-pushed branch"

# A branch, then the same branch deleted on the server: exit 3 naming consumer, URL and ref.
git_quiet -C "$work" branch feature
push feature
write_checkout_config "$url" feature
do_checkout; expect_eq "$commit" "$(git -C "$work" rev-parse feature)" "branch before deletion"
git_quiet -C "$base/app.git" branch -q -D feature
do_checkout
expect_eq "$checkout_rc" 3 "deleted ref exit"
expect_file_contains "$scratch/checkout.err" "checkout of consumer 'app' ($url at feature): ref 'feature' not found" "deleted ref message"

# Annotated tag (peeled to its commit), abbreviated sha, pull-request ref, full sha pinned.
git_quiet -C "$work" tag -a v1.0 -m "release" HEAD~1
push v1.0
write_checkout_config "$url" v1.0
do_checkout; expect_eq "$commit" "$(git -C "$work" rev-parse HEAD~1)" "annotated tag"
short=$(git -C "$work" rev-parse --short=8 HEAD~1)
write_checkout_config "$url" "$short"
do_checkout; expect_eq "$commit" "$(git -C "$work" rev-parse HEAD~1)" "abbreviated sha"
git_quiet -C "$work" checkout -q -b pr-branch
echo pr >"$work/pr.txt"; git_quiet -C "$work" add -A; git_quiet -C "$work" commit -q -m "pr"
push "pr-branch:refs/pull/7/head"
git_quiet -C "$work" checkout -q main
write_checkout_config "$url" refs/pull/7/head
do_checkout; expect_eq "$commit" "$(git -C "$work" rev-parse pr-branch)" "pull-request ref"
write_checkout_config "$url" "$(git -C "$work" rev-parse HEAD~1)"
do_checkout; expect_eq "$commit" "$(git -C "$work" rev-parse HEAD~1)" "full sha"
# Over git://, a mirror holding history (an abbreviated sha fetches every
# branch whole), then new commits: libgit2 sends its haves in rounds of 20,
# each repeating the wants, on the one connection (stateless_git.h).
for i in $(seq 1 25); do echo "$i" >"$work/round$i.txt"; git_quiet -C "$work" add -A; git_quiet -C "$work" commit -q -m "round $i"; done
push main
write_checkout_config "$url" "$(git -C "$work" rev-parse --short=9 main~2)"
do_checkout; expect_eq "$commit" "$(git -C "$work" rev-parse main~2)" "abbreviated sha of a commit the mirror lacks"
[ "$(git -C "$mirror" rev-list --count main)" -gt 25 ] || fail "the mirror did not fetch main's history"
for i in 1 2; do echo "$i" >"$work/later$i.txt"; git_quiet -C "$work" add -A; git_quiet -C "$work" commit -q -m "later $i"; done
push main
write_checkout_config "$url" main
do_checkout; expect_eq "$commit" "$(git -C "$work" rev-parse main)" "update of a mirror with history over git:// ($(cat "$scratch/checkout.err"))"
# A full commit id no ref names, into an empty cache: not asked for by id
# (git daemon does not serve unadvertised ids), every branch is fetched
# whole instead, on the one connection.
write_checkout_config "$url" "$(git -C "$work" rev-parse main~3)"
cache_dir="$scratch/cache-by-id" do_checkout
expect_eq "$commit" "$(git -C "$work" rev-parse main~3)" "unadvertised full sha over git:// ($(cat "$scratch/checkout.err"))"

# The remote's default branch when no ref is given; file:// URLs.
write_checkout_config "$url" ""
do_checkout; expect_eq "$commit" "$(git -C "$base/app.git" rev-parse main)" "default branch"
write_checkout_config "file://$base/app.git" main
do_checkout; expect_eq "$commit" "$(git -C "$base/app.git" rev-parse main)" "file:// URL"
# `ref: HEAD`, of a local path: the remote's HEAD, and the mirror's own HEAD left alone.
write_checkout_config "$base/app.git" HEAD
cache_dir="$scratch/cache-head" do_checkout
expect_eq "$commit" "$(git -C "$base/app.git" rev-parse HEAD)" "ref HEAD of a local path"
git -C "$(ls -d "$scratch"/cache-head/mirrors/app-*.git)" symbolic-ref -q HEAD >/dev/null || fail "the mirror's HEAD was replaced"

# Submodules, with a URL relative to the superproject's.
make_repo "$base/lib.git.work" lib
git_quiet clone -q --bare "$base/lib.git.work" "$base/lib.git"
make_repo "$base/super.git.work" super
git_quiet -C "$base/super.git.work" -c protocol.file.allow=always submodule add -q "$base/lib.git" vendor/lib >/dev/null 2>&1
git_quiet -C "$base/super.git.work" config -f .gitmodules submodule.vendor/lib.url ../lib.git
git_quiet -C "$base/super.git.work" add -A; git_quiet -C "$base/super.git.work" commit -q -m "add lib"
git_quiet clone -q --bare "$base/super.git.work" "$base/super.git"
write_checkout_config "$daemon/super.git" main "    submodules: true" "cat vendor/lib/lib.txt"
"$GATE_BIN" checkout --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "checkout with a submodule ($(tail -n 2 "$scratch/err"))"
# A full run shows the submodule's files are there and records its commit.
candidate=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "e2e/checkout-$$" c)
"$GATE_BIN" run --dry-run --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache" \
  --candidate "$GATE_REGISTRY/e2e/checkout-$$@$candidate" --report-dir "$scratch/sub" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "run with a submodule"
expect_file_contains "$scratch/sub/logs/app.log" "^lib$" "the submodule's file is in the worktree"
expect_eq "$(json_get "$scratch/sub/verdict.json" 'v["consumers"][0]["submodules"][0].split()[:2]')" \
  "['vendor/lib', '$(git -C "$base/lib.git" rev-parse main)']" "submodule recorded in the verdict"

# Smart HTTP with a token: accepted, and refused once (no retry loop). The
# token never shows in output, reports or the consumer's environment.
token="tok-$$-$(head -c 9 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
start_git_http "$base" gate-ci "$token"; http=$address
write_checkout_config "$http/app.git" main "    token_env: GATE_E2E_TOKEN
    token_user: gate-ci" "env"
GATE_E2E_TOKEN="$token" do_checkout
expect_eq "$checkout_rc" 0 "token accepted ($(cat "$scratch/checkout.err"))"
expect_eq "$commit" "$(git -C "$base/app.git" rev-parse main)" "checkout over smart HTTP"
GATE_E2E_TOKEN="$token" "$GATE_BIN" run --dry-run --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache" \
  --candidate "$GATE_REGISTRY/e2e/checkout-$$@$candidate" --report-dir "$scratch/http" >"$scratch/run.out" 2>"$scratch/run.err"
expect_eq "$?" 0 "run over smart HTTP with a token"
grep -q "GATE_E2E_TOKEN" "$scratch/http/logs/app.log" && fail "the token variable reached the consumer's environment"
grep -rqF -- "$token" "$scratch/run.out" "$scratch/run.err" "$scratch/http" && fail "the token appears in output or reports"
start=$(date +%s)
GATE_E2E_TOKEN="wrong-$token" do_checkout
expect_eq "$checkout_rc" 3 "token refused"
[ $(( $(date +%s) - start )) -lt 20 ] || fail "a refused token took $(( $(date +%s) - start ))s (a retry loop?)"
expect_file_contains "$scratch/checkout.err" "refused the token from \$GATE_E2E_TOKEN" "refused token message"
grep -qF -- "$token" "$scratch/checkout.err" && fail "the refused token was printed"
do_checkout
expect_eq "$checkout_rc" 3 "no token for a server that asks for one"

# A server that accepts the connection and never answers: stopped at the deadline.
start_stalled_server; stalled=$address
write_checkout_config "git://$stalled/app.git" main "    checkout_timeout: 2s"
start=$(date +%s)
do_checkout
expect_eq "$checkout_rc" 3 "stalled server exit"
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -lt 12 ] || fail "stalled server: took ${elapsed}s with a 2s deadline"
expect_file_contains "$scratch/checkout.err" "no answer within 2s" "stalled server message"
pgrep -f "__fetch --mirror $scratch" >/dev/null && fail "a fetch process was left behind"

# A transfer that stalls mid-way, a byte every half second: libgit2's
# per-read time-out would never trip; the deadline does, and a retry finds
# nothing left (no child, no partial pack).
big="$base/big.git.work"
make_repo "$big" one
head -c 3000000 /dev/urandom >"$big/blob.bin"
git_quiet -C "$big" add -A; git_quiet -C "$big" commit -q -m big
git_quiet clone -q --bare "$big" "$base/big.git"
start_trickling_proxy "${daemon#git://}"
write_checkout_config "git://$address/big.git" main "    checkout_timeout: 3s"
rm -rf "$scratch/cache-stall"
start=$(date +%s)
cache_dir="$scratch/cache-stall" do_checkout
elapsed=$(( $(date +%s) - start ))
expect_eq "$checkout_rc" 3 "stalled transfer exit"
[ "$elapsed" -ge 3 ] && [ "$elapsed" -lt 12 ] || fail "stalled transfer: stopped after ${elapsed}s with a 3s deadline"
expect_file_contains "$scratch/checkout.err" "no answer within 3s" "stalled transfer message"
pgrep -f "__fetch --mirror $scratch/cache-stall" >/dev/null && fail "a fetch process was left behind by the stalled transfer"
leftover=$(find "$scratch/cache-stall" -path '*objects/pack/*' -name 'pack_git2_*' -o -path '*objects/pack/*' -name 'tmp_*' | head -3)
[ -z "$leftover" ] || fail "a partial pack was left behind: $leftover"

# A remote with a broken unrelated ref (a pull request whose objects are
# missing): the wanted branch is checked out all the same.
broken="$base/broken.git"
git_quiet clone -q --bare "$work" "$broken"
git_quiet -C "$work" checkout -q -b doomed
echo doomed >"$work/doomed.txt"; git_quiet -C "$work" add -A; git_quiet -C "$work" commit -q -m doomed
git_quiet -C "$work" -c receive.unpackLimit=1000 push -q "$broken" doomed:refs/pull/9/head
blob=$(git -C "$work" rev-parse doomed:doomed.txt)
git_quiet -C "$work" checkout -q main
rm -f "$broken/objects/${blob:0:2}/${blob:2}"
git -C "$broken" fsck >/dev/null 2>&1 && fail "the broken remote is not broken"
write_checkout_config "$daemon/broken.git" main
cache_dir="$scratch/cache-broken" do_checkout
expect_eq "$checkout_rc" 0 "remote with a broken unrelated ref ($(cat "$scratch/checkout.err"))"
expect_eq "$commit" "$(git -C "$broken" rev-parse main)" "commit from the remote with a broken ref"

# A damaged cache: detected, discarded with a warning, cloned again. First
# unreadable objects behind valid refs (the fetch finds nothing to do; the
# checkout notices), then a mirror that cannot even be opened.
write_checkout_config "$url" main
cache_dir="$scratch/cache-damage"
do_checkout
mirror=$(ls -d "$cache_dir"/mirrors/app-*.git)
for pack in "$mirror"/objects/pack/*.pack; do printf 'garbage' >"$pack"; done
find "$mirror/objects" -type f -path '*/objects/??/*' -exec sh -c 'printf garbage > "$1"' _ {} \;
do_checkout
expect_eq "$checkout_rc" 0 "damaged objects exit ($(cat "$scratch/checkout.err"))"
expect_eq "$commit" "$(git -C "$base/app.git" rev-parse main)" "damaged objects commit"
expect_file_contains "$scratch/checkout.err" "is damaged" "damaged objects warning"
printf '[core\n garbage = = =\n' >"$mirror/config"
do_checkout
expect_eq "$checkout_rc" 0 "unopenable mirror exit ($(cat "$scratch/checkout.err"))"
expect_eq "$commit" "$(git -C "$base/app.git" rev-parse main)" "unopenable mirror commit"
expect_file_contains "$scratch/checkout.err" "is damaged" "unopenable mirror warning"
unset cache_dir

# Two gates on one cache at once: both succeed with the same commit.
rm -rf "$scratch/cache"
"$GATE_BIN" checkout --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache" >"$scratch/c1" 2>&1 &
p1=$!
"$GATE_BIN" checkout --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache" >"$scratch/c2" 2>&1 &
p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
expect_eq "$r1 $r2" "0 0" "two concurrent checkouts ($(cat "$scratch/c1" "$scratch/c2"))"
expect_eq "$(grep '^app ' "$scratch/c1")" "$(grep '^app ' "$scratch/c2")" "both saw the same commit"
git -C "$(ls -d "$scratch"/cache/mirrors/app-*.git | head -1)" fsck >"$scratch/fsck" 2>&1 || fail "mirror damaged by concurrent use: $(cat "$scratch/fsck")"

# Bad URL, unreachable host: exit 3, naming consumer, URL and ref.
write_checkout_config "$daemon/no-such.git" main
do_checkout
expect_eq "$checkout_rc" 3 "missing repository"
expect_file_contains "$scratch/checkout.err" "checkout of consumer 'app' ($daemon/no-such.git at main)" "missing repository message"
! grep -q 'signal' "$scratch/checkout.err" || fail "the fetch crashed on a missing repository: $(cat "$scratch/checkout.err")"
write_checkout_config "git://127.0.0.1:$(free_port)/app.git" main
do_checkout
expect_eq "$checkout_rc" 3 "unreachable host"
expect_file_contains "$scratch/checkout.err" "checkout of consumer 'app' (git://127.0.0.1:.*: connect: failed to connect" "unreachable host message"

# The TCP connections of a consumer checkout, over git:// and http://
# (https:// in test_checkout_https): gate makes libgit2's connections itself
# (gate/git/tcp_stream.h) with TCP_NODELAY, and TCP_QUICKACK before every
# read, so that neither end waits ~40 ms on the other's delayed ACK (the
# figures are in bench/README, "checkout"). Read from the system calls, as
# strace shows them: the speed is the bench's to show, not a test's.
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || fail "no strace here (scripts/bootstrap installs it)"

base="$scratch/served"
mkdir -p "$base"
make_repo "$base/app.git.work" one two three
git_quiet clone -q --bare "$base/app.git.work" "$base/app.git"
want=$(git -C "$base/app.git" rev-parse main)

traced_checkout() {  # name url
  write_checkout_config "$2" main
  strace -f -qq -e trace=connect,setsockopt,sendto,recvfrom,close -o "$scratch/$1.trace" \
    "$GATE_BIN" checkout --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache-$1" \
    >"$scratch/$1.out" 2>"$scratch/$1.err"
  expect_eq "$?" 0 "$1 checkout under strace ($(cat "$scratch/$1.err"))"
  expect_eq "$(cat "$scratch/$1.out")" "app $want" "$1 checkout commit"
  python3 "$tools/tcp_options.py" "$scratch/$1.trace" "$2" >"$scratch/$1.options" ||
    fail "$1: $(cat "$scratch/$1.options")"
  cat "$scratch/$1.options"
}

# git:// (through gate's stateless transport, stateless_git.h): one
# connection, the ref listing, the shallow round and the pack read on it.
start_git_daemon "$base"
traced_checkout git "$address/app.git"
grep -q "connections to port .*: 1, reads: [1-9]" "$scratch/git.options" ||
  fail "git:// is not one connection with reads: $(cat "$scratch/git.options")"

# http://: a connection (or more) for the listing and each POST.
start_git_http "$base"
traced_checkout http "$address/app.git"

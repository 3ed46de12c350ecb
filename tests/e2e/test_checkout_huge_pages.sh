# The fetch child's malloc in transparent huge pages (gate/git/checkout.cpp,
# with_huge_pages_for_malloc): for a cold fetch (no mirror yet) gate starts
# `gate __fetch` with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, so glibc asks
# the kernel for huge pages (madvise MADV_HUGEPAGE) as the indexer's heap
# grows; not for a warm one, where the first huge page costs more than it
# saves; gate's own process is left as it is, and a user's own hugetlb
# setting is kept. Read from the system calls, as strace shows them; what
# it saves is in bench/README ("checkout", step 6).
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || fail "no strace here (scripts/bootstrap installs it)"

base="$scratch/served"
mkdir -p "$base"
make_repo "$base/app.git.work" one two
git_quiet clone -q --bare "$base/app.git.work" "$base/app.git"
start_git_daemon "$base"
write_checkout_config "$address/app.git" main

traced_checkout() {  # name [environment assignments...]
  local name=$1
  shift
  env "$@" strace -f -qq -e trace=execve,madvise -o "$scratch/$name.trace" \
    "$GATE_BIN" checkout --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache-$name" \
    >"$scratch/$name.out" 2>"$scratch/$name.err"
  expect_eq "$?" 0 "$name checkout under strace ($(cat "$scratch/$name.err"))"
  expect_eq "$(cat "$scratch/$name.out")" "app $(git -C "$base/app.git" rev-parse main)" "$name checkout commit"
  child=$(awk '/execve\(.*"__fetch"/ {print $1; exit}' "$scratch/$name.trace")
  [ -n "$child" ] || fail "$name: no __fetch child in the trace"
  main=$(head -n 1 "$scratch/$name.trace" | awk '{print $1}')
  child_asks=$(grep -c "^$child .*madvise(.*MADV_HUGEPAGE" "$scratch/$name.trace")
  main_asks=$(grep -c "^$main .*madvise(.*MADV_HUGEPAGE" "$scratch/$name.trace")
}

if grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
  echo "note: transparent huge pages are off on this machine (glibc asks for none); not checked"
  exit 0
fi

traced_checkout default
[ "$child_asks" -gt 0 ] || fail "the fetch child's malloc asked for no huge pages"
expect_eq "$main_asks" 0 "madvise(MADV_HUGEPAGE) calls of gate's own process"

# Warm, nothing new (the same cache again): no huge pages.
cp -a "$scratch/cache-default" "$scratch/cache-warm"
traced_checkout warm
expect_eq "$child_asks" 0 "the fetch child's huge-page requests for a warm mirror"

# A user's own setting, for this tunable, is theirs: hugetlb=0 is kept.
traced_checkout user GLIBC_TUNABLES=glibc.malloc.hugetlb=0
expect_eq "$child_asks" 0 "the fetch child's huge-page requests with the user's hugetlb=0"

# A short run of the randomized soundness check (bench/soundness): generated
# consumers whose tests fail on both images, are flaky, talk to a service
# from the candidate or start it themselves, against good and bad
# candidates, unsharded and over 2 shards. Every verdict must be right.
source "$(dirname "$0")/lib.sh"

GATE_BUILD_DIR="$GATE_BUILD_DIR" python3 "$GATE_SOURCE_DIR/bench/soundness" 6 1 >"$scratch/out" 2>&1
rc=$?
cat "$scratch/out" | tail -3
# A case whose gate hung: where it was (the bench printed its stacks).
grep -q "^HUNG" "$scratch/out" && grep -v "^\[New LWP\|^\[Thread" "$scratch/out" | sed -n '/^HUNG/,$p' | head -120
expect_eq "$rc" 0 "the soundness check ($(grep -E 'WRONG|reasons' "$scratch/out" | head -4))"
expect_file_contains "$scratch/out" " 0 wrong verdicts" "no wrong verdict"
expect_file_contains "$scratch/out" "2 shard(s)" "sharded cases ran"
expect_file_contains "$scratch/out" "bad candidate" "bad candidates ran"

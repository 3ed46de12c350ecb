# The stalled writer: gate B reads the tags (where it expects them), then
# stalls before its write (its registry connection frozen for 3 s by the
# fault proxy, as a SIGSTOP or a slow network would) while gate A publishes.
# The registry has no conditional write, so what holds depends on the lock:
#   - one cache (gates on one machine): they publish one at a time; A waits
#     for B, then finds the tags moved and exits 1. Exactly one published,
#     every tag on its digest.
#   - separate caches (gates on machines without a shared lock): B's late
#     write lands over A's finished publish and both exit 0; the tags end on
#     B's digest, all of them (what the README promises without the lock).
#   - separate caches, a registry that honours conditional writes (the
#     proxy, as the OCI spec's open proposal describes): B's write, sent with
#     If-Match on the digest it looked at, is refused: B exits 1, A's
#     publish stands.
# And the run that is overtaken after its moves (A's read-back held while B
# moves a tag) says so, exit 1, naming the digest that won; never published.
source "$(dirname "$0")/lib.sh"

name="e2e/race-$$"
repo="$GATE_REGISTRY/$name"
old=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "$name" old) || fail "push old"
write_publish_config "$repo" "[latest, stable]"
direct="$scratch/publish.yaml"
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$direct" --cache-dir "$scratch/cache-a" --candidate "$repo@$old" >/dev/null 2>&1 ||
  fail "initial publish"
start_fault_proxy "$GATE_REGISTRY"
sed "s|^  repository: .*|  repository: $address/$name|" "$direct" >"$scratch/proxied.yaml"

# B through the proxy, its first manifest PUT frozen for 3 s; A direct, a
# second later (B has read the tags by then and is stalled in its write).
race() {  # label cache-of-a cache-of-b [extra rule]
  local a b
  a=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "$name" "a-$1")
  b=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "$name" "b-$1")
  base=$(tag_digest "$repo" latest)
  echo "[{\"method\": \"PUT\", \"path\": \"/manifests/(latest|stable)$\", \"fault\": \"freeze\", \"seconds\": 3, \"times\": 1}${4:+, $4}]" \
    >"$scratch/rules.json"
  "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/proxied.yaml" --cache-dir "$3" --candidate "$address/$name@$b" \
    --expect-current "$base" >/dev/null 2>"$scratch/$1-b.err" &
  local pb=$!
  sleep 1
  "$GATE_BIN" publish --override --reason "an unverified test image" --config "$direct" --cache-dir "$2" --candidate "$repo@$a" --expect-current "$base" \
    >/dev/null 2>"$scratch/$1-a.err"
  ra=$?
  wait $pb
  rb=$?
  echo '[]' >"$scratch/rules.json"
  A=$a B=$b
}

race locked "$scratch/shared" "$scratch/shared"
expect_eq "$rb:$ra" "0:1" "one cache: B published, A refused ($(grep -h error "$scratch"/locked-*.err))"
expect_file_contains "$scratch/locked-a.err" "waiting for another gate on this machine that is publishing to" "A waited for B"
expect_file_contains "$scratch/locked-a.err" "not at $base where the gate saw it" "A found the tags moved"
expect_eq "$(tag_digest "$repo" latest) $(tag_digest "$repo" stable)" "$B $B" "one cache: every tag on B's digest"

race unlocked "$scratch/cache-a" "$scratch/cache-b"
expect_eq "$rb:$ra" "0:0" "separate caches: both report published (the registry has no conditional write)"
expect_eq "$(tag_digest "$repo" latest) $(tag_digest "$repo" stable)" "$B $B" "separate caches: every tag on the late writer's digest"

race conditional "$scratch/cache-a" "$scratch/cache-b" '{"fault": "honour-if-match"}'
expect_eq "$rb:$ra" "1:0" "conditional writes: B refused, A published ($(grep -h error "$scratch"/conditional-*.err))"
expect_file_contains "$scratch/conditional-b.err" "refused the conditional write: the tag points at $A" "B says the registry refused it"
expect_eq "$(tag_digest "$repo" latest) $(tag_digest "$repo" stable)" "$A $A" "conditional writes: every tag on A's digest"

# Overtaken after its moves: A's read-back of latest (its third request for
# it: look, claim read-back, then the check after every move) is held while
# B, direct, moves latest.
a=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "$name" a-overtaken)
b=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "$name" b-overtaken)
base=$(tag_digest "$repo" latest)
echo '[{"method": "HEAD", "path": "/manifests/latest", "fault": "freeze", "seconds": 3, "after": 2, "times": 1}]' \
  >"$scratch/rules.json"
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/proxied.yaml" --cache-dir "$scratch/cache-a" --candidate "$address/$name@$a" \
  --expect-current "$base" >"$scratch/overtaken-a.out" 2>"$scratch/overtaken-a.err" &
pa=$!
for _ in $(seq 1 100); do [ "$(tag_digest "$repo" stable)" = "$a" ] && break; sleep 0.05; done
expect_eq "$(tag_digest "$repo" stable)" "$a" "A moved its tags"
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$direct" --cache-dir "$scratch/cache-b" --candidate "$repo@$b" >/dev/null 2>&1
expect_eq "$?" 0 "B published meanwhile"
wait $pa
expect_eq "$?" 1 "A, overtaken, exits 1"
expect_file_contains "$scratch/overtaken-a.err" "latest: overtaken: another run moved the tag to $b after this one moved it to $a" \
  "A names the digest that won"
[ -s "$scratch/overtaken-a.out" ] && fail "A printed tags as published: $(cat "$scratch/overtaken-a.out")"
echo '[]' >"$scratch/rules.json"

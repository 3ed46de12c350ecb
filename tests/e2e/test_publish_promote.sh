# Promotion moves exactly the tested bytes: single-platform (OCI and Docker
# v2) and 2-platform OCI index images, within one repository and into
# another; `skopeo inspect --raw` shows byte-identical manifests.
source "$(dirname "$0")/lib.sh"

# The request count gate reports in $scratch/err. A HEAD retried after a 500
# (the shared registry answers one now and then under the other tests' load)
# is gate doing its job: each retry it announced counts once more.
expect_cost() {  # what gets heads puts
  local retries heads
  retries=$(grep -c 'head manifest .*retrying' "$scratch/err")
  heads=$(($3 + retries))
  expect_file_contains "$scratch/err" "publish cost $(($2 + heads + $4)) requests (GET $2, HEAD $heads, PUT $4)" "$1"
}

src="$GATE_REGISTRY/e2e/promote-$$"
release="$GATE_REGISTRY/e2e/promote-release-$$"

# Three candidates: an OCI image, a 2-platform OCI index (both with unusual
# JSON formatting, so a re-serialised copy would differ), and a docker-built image.
oci_digest=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "e2e/promote-$$" oci) || fail "push oci image"
index_digest=$(python3 "$tools/oci.py" push-index "$GATE_REGISTRY" "e2e/promote-$$" index) || fail "push index"
mkdir -p "$scratch/ctx" && head -c 100000 /dev/urandom >"$scratch/ctx/data" &&
  printf 'FROM scratch\nCOPY data /data\n' >"$scratch/ctx/Dockerfile"
docker build -q -t "$src:docker" "$scratch/ctx" >/dev/null && docker push -q "$src:docker" >/dev/null || fail "docker push"
docker_digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$src:docker")

for kind in oci index docker; do
  digest_var="${kind}_digest"
  digest=${!digest_var}
  raw_manifest "$src@$digest" >"$scratch/$kind.raw"

  # Within one repository: GET once, then per tag a HEAD (previous digest) and a PUT,
  # and once all moved, per tag a HEAD (the read-back: was this run overtaken?).
  write_publish_config "$src" "[latest-$kind, stable-$kind, v1-$kind]"
  "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$src@$digest" >"$scratch/out" 2>"$scratch/err"
  expect_eq "$?" 0 "$kind: same-repository publish"
  for tag in latest-$kind stable-$kind v1-$kind; do
    raw_manifest "$src:$tag" >"$scratch/$kind.$tag.raw"
    cmp -s "$scratch/$kind.raw" "$scratch/$kind.$tag.raw" || fail "$kind: $src:$tag is not byte-identical to the tested manifest"
    expect_eq "$(tag_digest "$src" "$tag")" "$digest" "$kind: digest of $tag"
  done
  expect_cost "$kind: request count" 1 6 3
  expect_file_contains "$scratch/out" "$src:latest-$kind $digest (was new)" "$kind: publish output"

  # Into another repository: blobs mounted, children before the index, same digests.
  write_publish_config "$src" "[latest-$kind, stable-$kind]" "  publish_repository: $release"
  "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$src@$digest" >"$scratch/out" 2>"$scratch/err"
  expect_eq "$?" 0 "$kind: cross-repository publish"
  for tag in latest-$kind stable-$kind; do
    raw_manifest "$release:$tag" >"$scratch/$kind.release.$tag.raw"
    cmp -s "$scratch/$kind.raw" "$scratch/$kind.release.$tag.raw" || fail "$kind: $release:$tag differs from the tested manifest"
  done
  expect_eq "$(tag_digest "$release" "latest-$kind")" "$digest" "$kind: release digest"
  grep -q "blob(s) mounted, 0 uploaded" "$scratch/err" || fail "$kind: blobs were not mounted: $(grep copied "$scratch/err")"
  # Every platform's config blob is readable in the release repository.
  if [ "$kind" = index ]; then
    for arch in amd64 arm64; do
      got=$(skopeo inspect --tls-verify=false --override-arch "$arch" --format '{{.Architecture}}' "docker://$release:latest-$kind" 2>&1)
      expect_eq "$got" "$arch" "index: platform $arch readable in the release repository"
    done
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["mediaType"].endswith("index.v1+json") and len(d["manifests"])==2' \
      "$scratch/$kind.release.latest-$kind.raw" || fail "index: the release tag is not the 2-platform index"
  else
    skopeo inspect --tls-verify=false "docker://$release:latest-$kind" >/dev/null 2>&1 || fail "$kind: release image not readable"
  fi
done

# Publishing again where the tags already are: idempotent, previous digest
# reported, and no write (a PUT would change nothing). One tag of three is new.
write_publish_config "$src" "[latest-oci, stable-oci, again-oci]"
out=$("$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$src@$oci_digest" 2>"$scratch/err")
expect_eq "$(echo "$out" | head -n 1)" "$src:latest-oci $oci_digest (was $oci_digest)" "republish output"
expect_cost "republish: only the new tag is written" 1 6 1
expect_eq "$(tag_digest "$src" again-oci)" "$oci_digest" "republish: the new tag"

# A registry that refuses the mount: the blobs are uploaded (streamed through
# a temporary file, digest checked), and the copy is still byte-identical.
start_fault_proxy "$GATE_REGISTRY"; proxy=$address
echo '[{"method":"POST","path":"mount=","fault":"refuse-mount"}]' >"$scratch/rules.json"
write_publish_config "$proxy/e2e/promote-$$" "[uploaded]" "  publish_repository: $proxy/e2e/promote-upload-$$"
"$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$proxy/e2e/promote-$$@$index_digest" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "publish with refused mounts"
grep -q "0 blob(s) mounted, 4 uploaded" "$scratch/err" || fail "refused mounts were not uploaded: $(grep copied "$scratch/err")"
raw_manifest "$GATE_REGISTRY/e2e/promote-upload-$$:uploaded" >"$scratch/uploaded.raw"
cmp -s "$scratch/index.raw" "$scratch/uploaded.raw" || fail "the uploaded copy is not byte-identical"
for arch in amd64 arm64; do
  got=$(skopeo inspect --tls-verify=false --override-arch "$arch" --format '{{.Architecture}}' "docker://$GATE_REGISTRY/e2e/promote-upload-$$:uploaded" 2>&1)
  expect_eq "$got" "$arch" "uploaded copy: platform $arch readable"
done
# Into the release repository, 4 image blobs, then the history's 2 (its
# list and its empty config, written once the tag has moved), then each
# carried referrer's note (the overrides of the earlier publishes; their
# empty config is the history's): one upload PUT each.
carried=$(sed -n 's/.*carried \([0-9]*\) referrer(s).*/\1/p' "$scratch/err")
[ -n "$carried" ] && [ "$carried" -ge 1 ] || fail "the override notes were not carried along: $(grep -i referrer "$scratch/err")"
expect_eq "$(proxy_count PUT "/e2e/promote-upload-$$/blobs/uploads/")" $((6 + carried)) "one upload PUT per blob"
# The history is written once; in a repository without an artifact yet, its
# first PUT is refused for the empty config (MANIFEST_BLOB_UNKNOWN), which
# is then pushed, and the PUT made again.
expect_eq "$(proxy_count PUT '/manifests/gate-history' 201)" 1 "the move appended to the history"
expect_eq "$(proxy_count PUT '/manifests/gate-history' 400)" 1 "the first PUT refused for the empty config"

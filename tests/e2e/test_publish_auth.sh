# Publishing against a registry with htpasswd (Basic) auth and one behind a
# Bearer token realm; credentials from the environment and from docker's
# config.json; refused credentials fail once, clearly. A log scan proves the
# password and every token issued never appear in output or reports.
source "$(dirname "$0")/lib.sh"

password="pw-$$-$(head -c 12 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
start_htpasswd_registry basic "$password"; basic=$address
start_token_registry bearer "$password"; bearer=$address
oci_digest=$(python3 "$tools/oci.py" push-index "$GATE_REGISTRY" "e2e/auth-$$" src) || fail "push index"

all_output="$scratch/all-output"
for reg in "$basic" "$bearer"; do
  copy_image "$GATE_REGISTRY/e2e/auth-$$:src" "$reg/acme/emu:candidate" "gate-bot:$password" || fail "copy to $reg"
  write_publish_config "$reg/acme/emu" "[latest, stable]"

  # Without credentials: exit 3, saying credentials are needed.
  "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$reg/acme/emu@$oci_digest" >>"$all_output" 2>"$scratch/err"
  expect_eq "$?" 3 "$reg: no credentials"
  grep -Eq "credentials|auth" "$scratch/err" || fail "$reg: no word on credentials: $(cat "$scratch/err")"
  cat "$scratch/err" >>"$all_output"

  # Wrong password: exit 3, one attempt at the token endpoint or registry, no loop.
  start=$(date +%s)
  GATE_REGISTRY_USER=gate-bot GATE_REGISTRY_PASSWORD="wrong-$password" \
    "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$reg/acme/emu@$oci_digest" >>"$all_output" 2>"$scratch/err"
  expect_eq "$?" 3 "$reg: refused credentials"
  [ $(( $(date +%s) - start )) -lt 10 ] || fail "$reg: refused credentials took too long (a retry loop?)"
  grep -q "wrong-$password" "$scratch/err" && fail "$reg: the wrong password was printed"
  cat "$scratch/err" >>"$all_output"

  # From the environment.
  GATE_REGISTRY_USER=gate-bot GATE_REGISTRY_PASSWORD="$password" \
    "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$reg/acme/emu@$oci_digest" >>"$all_output" 2>>"$all_output"
  expect_eq "$?" 0 "$reg: publish with GATE_REGISTRY_USER/PASSWORD"
  got=$(skopeo inspect --raw --tls-verify=false --creds "gate-bot:$password" "docker://$reg/acme/emu:latest" | sha256sum | cut -d' ' -f1)
  expect_eq "sha256:$got" "$oci_digest" "$reg: latest is the tested index, byte for byte"

  # Into another repository of the authenticated registry: the mount needs
  # a token for two scopes (push on the target, pull on the source).
  write_publish_config "$reg/acme/emu" "[latest]" "  publish_repository: $reg/acme/release"
  GATE_REGISTRY_USER=gate-bot GATE_REGISTRY_PASSWORD="$password" \
    "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$reg/acme/emu@$oci_digest" >>"$all_output" 2>"$scratch/err"
  expect_eq "$?" 0 "$reg: cross-repository publish"
  cat "$scratch/err" >>"$all_output"
  grep -q "blob(s) mounted, 0 uploaded" "$scratch/err" || fail "$reg: blobs not mounted: $(grep -E 'copied|error' "$scratch/err")"
  raw_manifest "$reg/acme/emu@$oci_digest" "gate-bot:$password" >"$scratch/src.raw"
  raw_manifest "$reg/acme/release:latest" "gate-bot:$password" >"$scratch/dst.raw"
  cmp -s "$scratch/src.raw" "$scratch/dst.raw" || fail "$reg: the release manifest is not byte-identical"
  for arch in amd64 arm64; do
    got=$(skopeo inspect --tls-verify=false --creds "gate-bot:$password" --override-arch "$arch" \
      --format '{{.Architecture}}' "docker://$reg/acme/release:latest" 2>&1)
    expect_eq "$got" "$arch" "$reg: platform $arch readable in the release repository"
  done
  write_publish_config "$reg/acme/emu" "[latest, stable]"

  # From docker's config.json (auths.<host>.auth), as after `docker login`.
  mkdir -p "$scratch/docker-config"
  printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$reg" "$(printf 'gate-bot:%s' "$password" | base64 -w0)" \
    >"$scratch/docker-config/config.json"
  write_publish_config "$reg/acme/emu" "[from-docker-config]"
  DOCKER_CONFIG="$scratch/docker-config" \
    "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$reg/acme/emu@$oci_digest" >>"$all_output" 2>>"$all_output"
  expect_eq "$?" 0 "$reg: publish with docker config.json credentials"

  # From a credential helper named in config.json (credHelpers), the
  # protocol docker uses: `docker-credential-NAME get`, host on stdin.
  mkdir -p "$scratch/bin"
  cat >"$scratch/bin/docker-credential-gatetest" <<HELPER
#!/bin/sh
read host
[ "\$1" = get ] && [ "\$host" = "$reg" ] || { echo "credentials not found in native keychain"; exit 1; }
printf '{"ServerURL":"%s","Username":"gate-bot","Secret":"%s"}\n' "\$host" "$password"
HELPER
  chmod +x "$scratch/bin/docker-credential-gatetest"
  printf '{"credHelpers": {"%s": "gatetest"}}\n' "$reg" >"$scratch/docker-config/config.json"
  write_publish_config "$reg/acme/emu" "[from-helper]"
  PATH="$scratch/bin:$PATH" DOCKER_CONFIG="$scratch/docker-config" \
    "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$reg/acme/emu@$oci_digest" >>"$all_output" 2>"$scratch/err"
  expect_eq "$?" 0 "$reg: publish with a credential helper ($(tail -n 2 "$scratch/err"))"
  cat "$scratch/err" >>"$all_output"
  expect_eq "$(skopeo inspect --tls-verify=false --creds "gate-bot:$password" --format '{{.Digest}}' "docker://$reg/acme/emu:from-helper")" \
    "$oci_digest" "$reg: tag published with helper credentials"

  # A full run's reports too (dry run against the authenticated registry, candidate given).
  cat >"$scratch/run.yaml" <<YAML
version: 1
image: {repository: $reg/acme/emu, publish_tags: [latest]}
consumers:
  - {name: echo, repo: $GATE_BUILD_DIR/demo/consumer, run: "echo candidate \$GATE_CANDIDATE_REF"}
YAML
  GATE_REGISTRY_USER=gate-bot GATE_REGISTRY_PASSWORD="$password" \
    "$GATE_BIN" run --dry-run --config "$scratch/run.yaml" --candidate "$reg/acme/emu@$oci_digest" \
    --report-dir "$scratch/report-${reg##*:}" >>"$all_output" 2>>"$all_output"
  expect_eq "$?" 0 "$reg: dry run against the authenticated registry"
done

# The log scan: neither the password nor any token issued appears anywhere.
[ -s "$scratch/tokens.log" ] || fail "the token realm issued no token (the Bearer flow did not run)"
cat "$scratch"/report-*/* "$scratch"/report-*/logs/* >>"$all_output" 2>/dev/null
grep -qF -- "$password" "$all_output" && fail "the password appears in gate's output or reports"
while read -r token; do
  grep -qF -- "$token" "$all_output" && fail "a bearer token appears in gate's output or reports"
  grep -qF -- "${token:0:40}" "$all_output" && fail "part of a bearer token appears in gate's output or reports"
done <"$scratch/tokens.log"
basic_b64=$(printf 'gate-bot:%s' "$password" | base64 -w0)
grep -qF -- "$basic_b64" "$all_output" && fail "the base64 credentials appear in gate's output or reports"
echo "--- sample of what gate said:"; grep "gate: error" "$all_output" | head -4; true

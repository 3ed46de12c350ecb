# TLS is verified by default: a real docker-registry serving HTTPS on a
# non-loopback address of this machine, with certificates of a test CA.
#  - the CA unknown: refused (exit 3, says why), nothing published;
#  - the CA in Docker's certs.d layout (--registry-certs-dir, or
#    $GATE_REGISTRY_CERTS_DIR): published;
#  - a certificate for another name, signed by the trusted CA: refused;
#  - a plain-HTTP registry on a non-loopback address: refused unless named
#    with --insecure-registry;
#  - a CA file with no certificate in it: exit 2 naming the file.
source "$(dirname "$0")/lib.sh"

ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -n 1)
if [ -z "$ip" ]; then
  fail "this machine has no non-loopback IPv4 address to serve a TLS registry on (hostname -I)"
  exit 1
fi

# A CA, a server certificate for $ip, and one for another name, both signed by it.
pki=$scratch/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gate-test-ca \
  -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null || fail "make the test CA"
issue() {  # name subject-alt-name
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null &&
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$2" >"$pki/$1.ext" &&
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
      -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null || fail "issue the $1 certificate"
}
issue right "IP:$ip"
issue wrong "DNS:wrong.gate.invalid"

# docker-registry on $ip: HTTPS with CERT (or plain HTTP without). Sets $address.
start_registry_on_ip() {  # name [cert]
  local name=$1 cert=${2:-} port scheme=http
  port=$(free_port)
  mkdir -p "$scratch/$name/storage"
  {
    echo "version: 0.1"
    echo "log: {level: error}"
    echo "storage: {filesystem: {rootdirectory: $scratch/$name/storage}}"
    if [ -n "$cert" ]; then
      echo "http: {addr: '$ip:$port', tls: {certificate: $pki/$cert.crt, key: $pki/$cert.key}}"
      scheme=https
    else
      echo "http: {addr: '$ip:$port'}"
    fi
  } >"$scratch/$name/config.yml"
  docker-registry serve "$scratch/$name/config.yml" >"$scratch/$name/log" 2>&1 &
  background_pids+=($!)
  for _ in $(seq 1 100); do
    curl -ks -o /dev/null "$scheme://$ip:$port/v2/" && break
    sleep 0.05
  done
  address="$ip:$port"
}

start_registry_on_ip tls right; tls=$address
start_registry_on_ip wrong-name wrong; wrong=$address
start_registry_on_ip plain; plain=$address

# The candidate, copied into each registry (skopeo, verification off: it is the fixture).
digest=$(python3 "$tools/oci.py" push-image "$GATE_REGISTRY" "e2e/tls-$$" oci) || fail "push the candidate"
for registry in "$tls" "$wrong" "$plain"; do
  copy_image "$GATE_REGISTRY/e2e/tls-$$@$digest" "$registry/e2e/tls:candidate" || fail "copy the candidate to $registry"
done

# What a tag points to, read with curl verifying against the test CA ("none" when unset).
tls_tag() {  # registry tag
  curl -s --cacert "$pki/ca.crt" -o /dev/null -w '%header{docker-content-digest}' -I \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "https://$1/v2/e2e/tls/manifests/$2" | grep . || echo none
}

certs=$scratch/certs.d        # Docker's layout: certs.d/<host:port>/ca.crt
empty=$scratch/empty-certs.d
mkdir -p "$certs/$tls" "$certs/$wrong" "$empty"
cp "$pki/ca.crt" "$certs/$tls/ca.crt"
cp "$pki/ca.crt" "$certs/$wrong/ca.crt"

publish() {  # registry [gate options...]
  local registry=$1
  shift
  write_publish_config "$registry/e2e/tls" "[latest]" "  compare_and_swap: false"
  "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" --candidate "$registry/e2e/tls@$digest" "$@" \
    >"$scratch/out" 2>"$scratch/err"
}

# 1. The CA is unknown: TLS verification refuses the registry, nothing moves.
publish "$tls" --registry-certs-dir "$empty"
expect_eq "$?" 3 "unknown CA: exit code"
expect_file_contains "$scratch/err" "TLS failed" "unknown CA: says TLS failed"
expect_file_contains "$scratch/err" "certificate" "unknown CA: says it is the certificate"
expect_file_contains "$scratch/err" "/etc/docker/certs.d/$tls/ca.crt" "unknown CA: says where a CA goes"
expect_eq "$(tls_tag "$tls" latest)" none "unknown CA: latest not published"

# 2. The CA in certs.d: verified, published (flag, then the environment variable).
publish "$tls" --registry-certs-dir "$certs"
expect_eq "$?" 0 "trusted CA (--registry-certs-dir): exit code"
expect_eq "$(tls_tag "$tls" latest)" "$digest" "trusted CA: latest at the tested digest"
expect_file_contains "$scratch/err" "also trusting the CA in $certs/$tls/ca.crt" "trusted CA: says which file"
write_publish_config "$tls/e2e/tls" "[stable]" "  compare_and_swap: false"
GATE_REGISTRY_CERTS_DIR=$certs "$GATE_BIN" publish --override --reason "an unverified test image" --config "$scratch/publish.yaml" \
  --candidate "$tls/e2e/tls@$digest" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "trusted CA (GATE_REGISTRY_CERTS_DIR): exit code"
expect_eq "$(tls_tag "$tls" stable)" "$digest" "trusted CA from the environment: stable published"

# 3. Signed by the trusted CA, but for another name: refused.
publish "$wrong" --registry-certs-dir "$certs"
expect_eq "$?" 3 "certificate for another name: exit code"
expect_file_contains "$scratch/err" "TLS failed" "another name: says TLS failed"
grep -qiE "subject name|does not match|no alternative" "$scratch/err" || fail "another name: the error does not say the name does not match: $(cat "$scratch/err")"
expect_eq "$(tag_digest "$wrong/e2e/tls" latest)" none "another name: latest not published"

# 4. Plain HTTP on a non-loopback address: only when named as insecure.
publish "$plain" --registry-certs-dir "$certs"
expect_eq "$?" 3 "plain HTTP, not named insecure: exit code"
expect_file_contains "$scratch/err" "name it: --insecure-registry $plain" "plain HTTP: says how to allow it"
expect_eq "$(tag_digest "$plain/e2e/tls" latest)" none "plain HTTP, not named insecure: nothing published"
publish "$plain" --insecure-registry "$plain"
expect_eq "$?" 0 "plain HTTP named with --insecure-registry: exit code"
expect_eq "$(tag_digest "$plain/e2e/tls" latest)" "$digest" "plain HTTP named insecure: published"

# 5. A CA file with no certificate in it: a configuration error naming the file.
mkdir -p "$scratch/bad.d/$tls" && echo "not a certificate" >"$scratch/bad.d/$tls/ca.crt"
publish "$tls" --registry-certs-dir "$scratch/bad.d"
expect_eq "$?" 2 "CA file without a certificate: exit code"
expect_file_contains "$scratch/err" "$scratch/bad.d/$tls/ca.crt: no PEM certificate" "bad CA file: named"

# A consumer checkout over https://: libgit2 reads the CA bundle only for
# such a fetch (gate/git/ca_bundle.h), and the server's certificate is
# verified against it: trusted through $SSL_CERT_FILE, the fetch works;
# against the system's bundle, which does not hold this test's CA, it fails.
# A checkout over git:// reads no CA bundle at all.
source "$(dirname "$0")/lib.sh"
unset SSL_CERT_FILE  # set by some environments (to the system's bundle): each case sets its own

base="$scratch/served"
mkdir -p "$base"
make_repo "$base/app.git.work" one two
git_quiet clone -q --bare "$base/app.git.work" "$base/app.git"

# A CA of the test's own, and a certificate for 127.0.0.1 it signs (also as a
# DNS name: mbedTLS 2.28 matches no IP address entries).
tls="$scratch/tls"
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=gate e2e CA" \
  -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null || fail "openssl: no CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:127.0.0.1\n' >"$tls/san.ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
  -extfile "$tls/san.ext" -out "$tls/server.pem" 2>/dev/null || fail "openssl: no server certificate"
cat "$tls/server.pem" "$tls/server.key" >"$tls/server-bundle.pem"

git_http_pem="$tls/server-bundle.pem" start_git_http "$base"
url="$address/app.git"
expect_eq "${url%%://*}" https "the server speaks TLS"

# Trusted through $SSL_CERT_FILE: the checkout works, exit 0, main's commit.
write_checkout_config "$url" main
SSL_CERT_FILE="$tls/ca.pem" do_checkout
expect_eq "$checkout_rc" 0 "https checkout with the test's CA trusted ($(cat "$scratch/checkout.err"))"
expect_eq "$commit" "$(git -C "$base/app.git" rev-parse main)" "https checkout commit"

# Not trusted (the system's bundle): the certificate is refused, exit 3,
# nothing checked out. A fetch that skipped verification would pass here.
cache_dir="$scratch/cache-untrusted" do_checkout
expect_eq "$checkout_rc" 3 "https checkout with an untrusted certificate"
expect_file_contains "$scratch/checkout.err" "certificate" "the refusal names the certificate"
[ -z "$commit" ] || fail "an untrusted server's commit was checked out: $commit"

# Without $SSL_CERT_FILE the bundle libgit2 names at its initialisation (the
# system's) is the one parsed: with the test's CA mounted in its place (a
# mount namespace of this command's own), the same checkout works.
if unshare -m true 2>/dev/null; then
  bundle=/etc/ssl/certs/ca-certificates.crt
  out=$(unshare -m sh -c 'mount --bind "$1" "$2" && exec "$3" checkout --config "$4" --cache-dir "$5"' _ \
    "$tls/ca.pem" "$bundle" "$GATE_BIN" "$scratch/checkout.yaml" "$scratch/cache-system" 2>"$scratch/system.err")
  expect_eq "${out#app }" "$(git -C "$base/app.git" rev-parse main)" "https checkout trusting the system bundle ($(cat "$scratch/system.err"))"
else
  echo "note: no mount namespaces here; the system-bundle case is not checked"
fi

# Only an https:// fetch reads a CA bundle: a checkout over git:// opens
# neither the system's bundle nor $SSL_CERT_FILE (libgit2's set-up would
# parse the system's, ~7 ms, in every process), the https one opens the
# file it trusts. (strace: scripts/bootstrap installs it.)
if command -v strace >/dev/null; then
  start_git_daemon "$base"
  write_checkout_config "$address/app.git" main
  SSL_CERT_FILE="$tls/ca.pem" strace -f -qq -e trace=open,openat -o "$scratch/git.trace" \
    "$GATE_BIN" checkout --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache-git" >/dev/null 2>"$scratch/git.err"
  expect_eq "$?" 0 "git:// checkout under strace ($(cat "$scratch/git.err"))"
  grep -q '"/etc/ssl/certs/ca-certificates.crt"\|"'"$tls"'/ca.pem"' "$scratch/git.trace" &&
    fail "a git:// checkout read a CA bundle: $(grep -h 'ca-certificates.crt\|ca.pem' "$scratch/git.trace" | head -2)"
  write_checkout_config "$url" main
  SSL_CERT_FILE="$tls/ca.pem" strace -f -qq -e trace=open,openat,connect,setsockopt,sendto,recvfrom,close \
    -o "$scratch/https.trace" \
    "$GATE_BIN" checkout --config "$scratch/checkout.yaml" --cache-dir "$scratch/cache-traced" >/dev/null 2>"$scratch/https.err"
  expect_eq "$?" 0 "https checkout under strace ($(cat "$scratch/https.err"))"
  expect_file_contains "$scratch/https.trace" "\"$tls/ca.pem\"" "the https checkout read the bundle it trusts"
  # Under TLS too, the connection is gate's (tcp_stream.h, test_checkout_tcp):
  # TCP_NODELAY before the handshake, TCP_QUICKACK before every read.
  python3 "$tools/tcp_options.py" "$scratch/https.trace" "$url" >"$scratch/https.options" ||
    fail "https: $(cat "$scratch/https.options")"
else
  fail "no strace here (scripts/bootstrap installs it)"
fi

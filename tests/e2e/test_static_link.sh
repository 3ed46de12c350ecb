# What gate loads at every start (README, "How gate links them"): built the
# way scripts/bootstrap builds it (GATE_STATIC_DEPS, GATE_STATIC_CXX and
# GATE_STATIC_GIT on, their static libraries there), the executable needs
# none of the libraries linked into it: libcurl, fmt, libstdc++, yaml-cpp,
# libgit2 and libgit2's mbedTLS, libssh2, http-parser and PCRE2. A build
# without them (a plain cmake) links the shared ones; this test then says
# what it could not check.
source "$(dirname "$0")/lib.sh"

cache="$GATE_BUILD_DIR/CMakeCache.txt"
setting() { sed -n "s/^$1:[A-Z]*=//p" "$cache"; }
needed=$(readelf -d "$GATE_BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort)
echo "gate needs: $(echo $needed)"

static_deps=$(setting GATE_STATIC_DEPS)
if [ -n "$static_deps" ] && [ -f "$static_deps/libcurl/lib/libcurl.a" ] && [ "$(setting GATE_STATIC_CXX)" = ON ]; then
  for lib in libcurl libfmt libstdc++ libyaml-cpp; do
    grep -q "^$lib\." <<<"$needed" && fail "gate loads $lib at start, though it was built with it linked in"
  done
else
  echo "note: not built with scripts/build-static-deps' libraries; libcurl, fmt and libstdc++ are not checked"
fi

if [ "$(setting GATE_STATIC_GIT)" = ON ] && pkg-config --exists libgit2 &&
  [ -f "$(pkg-config --variable=libdir libgit2)/libgit2.a" ]; then
  for lib in libgit2 libmbedtls libmbedx509 libmbedcrypto libssh2 libhttp_parser libpcre2-8; do
    grep -q "^$lib\." <<<"$needed" && fail "gate loads $lib at start, though Debian's libgit2.a is there to link"
  done
  # libgit2's mbedTLS is gate's own copy: the CA bundle's deferred parse
  # reaches it through the linker's --wrap (test_checkout_https shows it works).
  # (grep -c reads all of nm's output: with pipefail, grep -q's early exit
  # would fail the pipe.)
  wrapped=$(nm --defined-only "$GATE_BIN" 2>/dev/null | grep -c ' T __wrap_mbedtls_x509_crt_parse_file$')
  [ "$wrapped" = 1 ] || fail "gate's wrapper of mbedtls_x509_crt_parse_file is not in the executable"
else
  echo "note: GATE_STATIC_GIT is off or Debian's libgit2.a is not there; libgit2 is not checked"
fi

# Whichever way it was linked, gate runs.
"$GATE_BIN" --version >"$scratch/version" 2>&1
expect_eq "$?" 0 "gate --version ($(cat "$scratch/version"))"

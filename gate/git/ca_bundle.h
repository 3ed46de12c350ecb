#pragma once
// The system's CA bundle, read by libgit2 only for an https:// fetch.
//
// Debian's libgit2 1.8 is built on mbedTLS, whose set-up in
// git_libgit2_init parses the whole CA bundle: about 7 ms of CPU in every
// process that reads a mirror, though only an https:// fetch verifies a
// certificate (measured: an idle checkout ~30 ms faster with the bundle
// hidden). gate defines the one mbedTLS function that parse goes through
// (with the shared libgit2, libgit2 calls it across the library boundary,
// so the executable's definition is the one it reaches; with libgit2.a
// linked in, the linker's --wrap sends the call there): the first call, libgit2's
// initialisation, only notes the chain and the file; load_ca_bundle() parses
// them into that same chain, which libgit2's TLS configuration holds, before
// a fetch that needs it. Any later call goes to mbedTLS unchanged.
namespace gate::git::detail {

// Parses the bundle libgit2's initialisation named (or $SSL_CERT_FILE, as
// OpenSSL and curl honour it) into libgit2's chain, once. Call after
// ensure_initialised(), before an https:// connection. False when the file
// could not be parsed (the handshake then fails on the certificate).
bool load_ca_bundle();

}  // namespace gate::git::detail

#include "git/ca_bundle.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#ifdef GATE_GIT_STATIC
extern "C" int __real_mbedtls_x509_crt_parse_file(void* chain,
                                                  const char* path);  // NOLINT(bugprone-reserved-identifier)
#endif

namespace {

using ParseFile = int (*)(void* chain, const char* path);

std::mutex g_mutex;
void* g_chain = nullptr;  // libgit2's CA chain, noted at its initialisation
std::string g_file;
bool g_deferred = false;
bool g_loaded = false;
bool g_load_ok = false;

#ifdef GATE_GIT_STATIC
// libgit2 and mbedTLS are linked into gate: the linker's
// --wrap=mbedtls_x509_crt_parse_file sends libgit2's call to the __wrap_
// function below, and __real_ is mbedTLS's own.
ParseFile mbedtls_parse_file() { return &__real_mbedtls_x509_crt_parse_file; }
#define GATE_CA_PARSE_ENTRY __wrap_mbedtls_x509_crt_parse_file  // NOLINT(bugprone-reserved-identifier)
#else
// The shared libgit2 calls across the library boundary: the executable's
// definition of the symbol comes first, and mbedTLS's is the next one.
ParseFile mbedtls_parse_file() {
  static const auto real = reinterpret_cast<ParseFile>(dlsym(RTLD_NEXT, "mbedtls_x509_crt_parse_file"));
  return real;
}
#define GATE_CA_PARSE_ENTRY mbedtls_x509_crt_parse_file
#endif

}  // namespace

// mbedtls_x509_crt_parse_file(mbedtls_x509_crt*, const char*), as libgit2
// calls it; see ca_bundle.h.
extern "C" __attribute__((visibility("default"))) int GATE_CA_PARSE_ENTRY(void* chain, const char* path) {
  {
    std::lock_guard lock(g_mutex);
    if (!g_deferred && !g_loaded) {
      g_deferred = true;
      g_chain = chain;
      g_file = path ? path : "";
      return 0;
    }
  }
  const ParseFile real = mbedtls_parse_file();
  return real ? real(chain, path) : -1;
}

namespace gate::git::detail {

bool load_ca_bundle() {
  std::lock_guard lock(g_mutex);
  if (!g_deferred) return true;  // not deferred (a libgit2 without mbedTLS): loaded as usual
  if (g_loaded) return g_load_ok;
  g_loaded = true;
  const char* override_file = std::getenv("SSL_CERT_FILE");
  const std::string file = override_file && *override_file ? override_file : g_file;
  const ParseFile real = mbedtls_parse_file();
  g_load_ok = real && !file.empty() && real(g_chain, file.c_str()) >= 0;
  return g_load_ok;
}

}  // namespace gate::git::detail

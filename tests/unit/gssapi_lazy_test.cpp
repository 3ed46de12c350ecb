// GSSAPI, which the statically linked libgit2 calls for HTTP Negotiate, is
// loaded only when it is first called (gate/git/gssapi_lazy.cpp): not at
// gate's start, and then for real, with the name type libgit2 passes.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

namespace {

struct Buffer {
  size_t length;
  void* value;
};
struct Oid {
  std::uint32_t length;
  void* elements;
};

bool loaded(const char* library) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find(library) != std::string::npos) return true;
  return false;
}

}  // namespace

extern "C" {
extern Oid* GSS_C_NT_HOSTBASED_SERVICE;
std::uint32_t gss_import_name(std::uint32_t* minor, Buffer* name, Oid* type, void** output);
std::uint32_t gss_release_name(std::uint32_t* minor, void** name);
}

TEST(GssapiLazy, LoadedOnlyWhenLibgit2FirstCallsIt) {
  ASSERT_FALSE(loaded("libgssapi_krb5")) << "GSSAPI is loaded with gate, not when Negotiate needs it";
  char service[] = "HTTP@git.example.org";
  Buffer name{std::strlen(service), service};
  void* imported = nullptr;
  std::uint32_t minor = 0;
  // The name type is gate's own OID object: the library must be given its own.
  EXPECT_EQ(gss_import_name(&minor, &name, GSS_C_NT_HOSTBASED_SERVICE, &imported), 0u) << "minor " << minor;
  EXPECT_NE(imported, nullptr);
  EXPECT_TRUE(loaded("libgssapi_krb5")) << "the first call loads the library";
  EXPECT_EQ(gss_release_name(&minor, &imported), 0u);
}

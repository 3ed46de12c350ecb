// GSSAPI for the libgit2 linked into gate, loaded the first time it is used.
//
// libgit2.a calls GSSAPI (Kerberos) for one thing: HTTP Negotiate, against a
// git server that asks for it. Linked as usual, libgssapi_krb5 and the six
// libraries it needs are loaded at every start of gate and of its fetch
// child, ~1 ms each on this machine, for an authentication few consumers'
// servers use. These definitions of the functions libgit2 calls open the
// real library with dlopen() the first time one is called, and pass the call
// on; without the library installed, GSSAPI fails as it does on a server
// gate cannot authenticate to (libgit2 then reports the 401).
//
// Compiled only with libgit2 linked statically (CMakeLists.txt): with the
// shared libgit2, the system's GSSAPI is its own dependency, and these
// symbols would stand in its way.
//
// The types are RFC 2744's C bindings; a call is passed on unchanged, so the
// opaque handles are void pointers here (no GSSAPI headers needed).
#include <dlfcn.h>

#include <cstdint>
#include <cstring>
#include <mutex>

namespace {

using OM_uint32 = std::uint32_t;
struct OidDesc {
  OM_uint32 length;
  void* elements;
};

constexpr OM_uint32 kGssFailure = 13u << 16;  // GSS_S_FAILURE
constexpr OM_uint32 kGssComplete = 0;         // GSS_S_COMPLETE

// 1.2.840.113554.1.2.1.4: the host-based service name type, as RFC 2744 gives it.
unsigned char kHostBasedServiceBytes[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04};
OidDesc kHostBasedService{sizeof kHostBasedServiceBytes, kHostBasedServiceBytes};

struct Gssapi {
  void* library = nullptr;
  OidDesc* host_based_service = nullptr;  // the library's own GSS_C_NT_HOSTBASED_SERVICE
  template <typename F>
  F find(const char* name) const {
    return library ? reinterpret_cast<F>(::dlsym(library, name)) : nullptr;
  }
};

const Gssapi& gssapi() {
  static Gssapi loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    loaded.library = ::dlopen("libgssapi_krb5.so.2", RTLD_NOW | RTLD_LOCAL);
    if (auto* name_type = loaded.find<OidDesc**>("GSS_C_NT_HOSTBASED_SERVICE")) loaded.host_based_service = *name_type;
  });
  return loaded;
}

// Passes a call on to the library's function of the same name; `absent`
// when the library or the function is not there.
template <typename... Args>
OM_uint32 pass_on(const char* name, OM_uint32 absent, OM_uint32* minor, Args... args) {
  using Function = OM_uint32 (*)(OM_uint32*, Args...);
  if (auto function = gssapi().find<Function>(name)) return function(minor, args...);
  if (minor) *minor = 0;
  return absent;
}

}  // namespace

extern "C" {

// libgit2 names the service by this OID; the library is given its own.
OidDesc* GSS_C_NT_HOSTBASED_SERVICE = &kHostBasedService;

OM_uint32 gss_import_name(OM_uint32* minor, void* name, OidDesc* name_type, void** output) {
  if (name_type == &kHostBasedService && gssapi().host_based_service) name_type = gssapi().host_based_service;
  return pass_on("gss_import_name", kGssFailure, minor, name, name_type, output);
}

OM_uint32 gss_init_sec_context(OM_uint32* minor, void* credential, void** context, void* target, OidDesc* mechanism,
                               OM_uint32 flags, OM_uint32 time, void* bindings, void* input, OidDesc** actual,
                               void* output, OM_uint32* flags_out, OM_uint32* time_out) {
  return pass_on("gss_init_sec_context", kGssFailure, minor, credential, context, target, mechanism, flags, time,
                 bindings, input, actual, output, flags_out, time_out);
}

OM_uint32 gss_delete_sec_context(OM_uint32* minor, void** context, void* output) {
  return pass_on("gss_delete_sec_context", kGssComplete, minor, context, output);
}

OM_uint32 gss_display_status(OM_uint32* minor, OM_uint32 status, int type, OidDesc* mechanism,
                             OM_uint32* message_context, void* text) {
  return pass_on("gss_display_status", kGssFailure, minor, status, type, mechanism, message_context, text);
}

OM_uint32 gss_indicate_mechs(OM_uint32* minor, void** mechanisms) {
  return pass_on("gss_indicate_mechs", kGssFailure, minor, mechanisms);
}

// Releasing what was never made (the library absent) is nothing to do.
OM_uint32 gss_release_buffer(OM_uint32* minor, void* buffer) {
  return pass_on("gss_release_buffer", kGssComplete, minor, buffer);
}

OM_uint32 gss_release_name(OM_uint32* minor, void** name) {
  return pass_on("gss_release_name", kGssComplete, minor, name);
}

OM_uint32 gss_release_oid_set(OM_uint32* minor, void** set) {
  return pass_on("gss_release_oid_set", kGssComplete, minor, set);
}

}  // extern "C"

#pragma once
// Extra certificate authorities for a registry, in Docker's layout: every
// *.crt file in CERTS_DIR/<host[:port]>/ (CERTS_DIR is /etc/docker/certs.d
// unless told otherwise), trusted in addition to the system's CAs, the way
// dockerd and skopeo trust them. TLS is always verified; this only widens
// what a registry's certificate may be signed by.
#include <filesystem>
#include <string>
#include <vector>

namespace gate::registry {

struct RegistryCas {
  std::string pem;                           // the system bundle followed by the extra CAs; "" when there are none
  std::vector<std::filesystem::path> files;  // the extra CA files, for the log
};

// Throws UsageError (exit 2) when a file there cannot be read or holds no certificate.
RegistryCas registry_cas(const std::filesystem::path& certs_dir, const std::string& registry);

// The default CERTS_DIR: $GATE_REGISTRY_CERTS_DIR, else /etc/docker/certs.d.
std::filesystem::path default_certs_dir();

}  // namespace gate::registry

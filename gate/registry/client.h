#pragma once
// The registry's HTTP API (OCI distribution), over libcurl. Only client.cpp
// includes curl. Manifests are kept byte-exact: a digest is the sha256 of
// the exact bytes, so re-serialising one would publish a different image.
#include <optional>
#include <string>

#include "core/error.h"

namespace gate::registry {

// Every manifest media type, always sent in Accept: without the index types
// distribution 2.x silently answers a multi-arch tag with one platform's
// manifest, and without the OCI type an OCI manifest is a 404.
inline constexpr const char* kManifestAccept =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

enum class Failure { connection, timeout, auth, not_found, server, protocol };

class RegistryError : public InfraError {
 public:
  RegistryError(Failure failure, const std::string& message) : InfraError(message), failure_(failure) {}
  Failure failure() const { return failure_; }

 private:
  Failure failure_;
};

struct Manifest {
  std::string media_type;
  std::string body;    // exact bytes as served
  std::string digest;  // sha256 of body, verified against Docker-Content-Digest
};

class Client {
 public:
  // registry: "host[:port]"; loopback registries are reached over plain HTTP.
  explicit Client(std::string registry);

  // GET /v2/. Throws RegistryError(connection) saying how to start one.
  void check_reachable() const;

  // The manifest for a tag or digest; nullopt when the registry has none.
  std::optional<Manifest> get_manifest(const std::string& repository, const std::string& reference) const;

  // PUTs the exact bytes under `tag`; returns the registry's Docker-Content-Digest.
  std::string put_manifest(const std::string& repository, const std::string& tag, const Manifest& manifest) const;

  const std::string& registry() const { return registry_; }

 private:
  std::string base_url() const;
  std::string registry_;
};

}  // namespace gate::registry

#pragma once
// A manifest as the registry serves it: kept byte-exact, since a digest is
// the sha256 of the exact bytes.
#include <string>

namespace gate::registry {

struct Manifest {
  std::string media_type;
  std::string body;    // exact bytes as served
  std::string digest;  // sha256 of body, checked against Docker-Content-Digest
};

// What an OCI descriptor says of a manifest or blob: enough to point at it
// (an index's child, an artifact's subject) without its bytes.
struct Descriptor {
  std::string media_type;
  std::string digest;
  long long size = 0;
  std::string platform;  // "linux/amd64" for index entries, when given
};

inline Descriptor descriptor_of(const Manifest& manifest) {
  return {manifest.media_type, manifest.digest, static_cast<long long>(manifest.body.size()), ""};
}

}  // namespace gate::registry

#pragma once
// What a manifest refers to. Manifests are parsed only to learn their
// children; the bytes themselves are never re-serialised.
#include <string>
#include <vector>

#include "registry/manifest_types.h"

namespace gate::registry {

inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

struct ManifestRefs {
  bool is_index = false;
  std::vector<Descriptor> manifests;  // an index's children
  std::vector<Descriptor> blobs;      // an image manifest's config and layers
};

// Throws InfraError (naming `what`) when the body is not a manifest gate knows.
ManifestRefs manifest_refs(const std::string& media_type, const std::string& body, const std::string& what);

}  // namespace gate::registry

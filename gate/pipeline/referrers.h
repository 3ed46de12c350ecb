#pragma once
// What is attached to an image digest in a repository: the artifacts whose
// `subject` it is (gate's verification records, attestations), listed under
// the referrers tag schema's "sha256-<hex>" tag (docker-registry 2.8 has no
// referrers API), and cosign's legacy tags beside it ("sha256-<hex>.sig",
// ".att", ".sbom"). Publishing into another repository carries them along,
// as `regctl image copy --referrers` does.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "registry/registry.h"

namespace gate::pipeline {

// "sha256:<hex>" -> "sha256-<hex>".
std::string referrers_tag(const std::string& digest);

// Pushes `bytes` as the one layer of an OCI artifact of `type` (an empty
// config) and returns its manifest, not yet stored: the caller stores it
// with store_artifact, by digest or under a tag. `extra` is merged into the
// manifest (subject, annotations).
registry::Manifest artifact_manifest(registry::Registry& registry, const std::string& repository,
                                     const std::string& type, const std::string& bytes, const nlohmann::json& extra);
// Runs `put` (the PUT of an artifact_manifest); when the registry says it
// lacks a blob (the empty config, in a repository's first artifact), pushes
// the empty config and runs it again. Returns what `put` returns. (The
// config is not asked for before every artifact: one request fewer a record.)
std::string store_artifact(registry::Registry& registry, const std::string& repository,
                           const std::function<std::string()>& put);

// Attaches `bytes` to image `subject` as an OCI artifact of `type` (one
// layer; `subject` = the image) and lists it in the referrers index; the
// artifact's digest. InfraError when the image is not in the repository.
// `keep_of_type` > 0: the index lists at most that many artifacts of `type`,
// the newest (the older ones stay in the registry, unlisted): an image
// tested again and again must not grow an index every write of which the
// registry checks entry by entry.
std::string attach_artifact(registry::Registry& registry, const std::string& repository, const std::string& subject,
                            const std::string& type, const std::string& bytes, const std::string& created,
                            const std::map<std::string, std::string>& annotations = {}, size_t keep_of_type = 0);
// The same for a subject this process already read from the registry (a
// candidate just resolved): no request to ask for it again.
std::string attach_artifact(registry::Registry& registry, const std::string& repository,
                            const registry::Descriptor& subject, const std::string& type, const std::string& bytes,
                            const std::string& created, const std::map<std::string, std::string>& annotations = {},
                            size_t keep_of_type = 0);

// Copies into `to` every artifact `from` lists for `digest` (blobs mounted,
// manifests by digest), merges their entries into `to`'s referrers index,
// and copies cosign's tags of the digest. Returns how many manifests it
// copied. InfraError on a registry failure.
size_t copy_referrers(registry::Registry& registry, const std::string& from, const std::string& to,
                      const std::string& digest);

}  // namespace gate::pipeline

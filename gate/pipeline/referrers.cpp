#include "pipeline/referrers.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "registry/digest.h"
#include "registry/manifest.h"

namespace gate::pipeline {

namespace {

// One manifest and its blobs, by digest or tag, from `from` into `to`.
void copy_manifest(registry::Registry& registry, const std::string& from, const std::string& to,
                   const registry::Manifest& manifest, const std::string& reference) {
  const std::string what = fmt::format("referrer {} of {}", reference, from);
  for (const auto& blob : registry::manifest_refs(manifest.media_type, manifest.body, what).blobs)
    registry.mount_blob(to, from, blob.digest);
  const std::string stored = registry.put_manifest(to, reference, manifest);
  if (stored != manifest.digest)
    throw InfraError(fmt::format("{}: the registry stored it as '{}', not {}", what, stored, manifest.digest));
}

}  // namespace

std::string referrers_tag(const std::string& digest) {
  std::string tag = digest;
  tag[tag.find(':')] = '-';
  return tag;  // "sha256-<hex>"
}

size_t copy_referrers(registry::Registry& registry, const std::string& from, const std::string& to,
                      const std::string& digest) {
  size_t copied = 0;
  const std::string tag = referrers_tag(digest);
  if (auto listing = registry.get_manifest(from, tag)) {
    auto index = nlohmann::json::parse(listing->body, nullptr, false);
    if (index.is_discarded() || !index.contains("manifests") || !index["manifests"].is_array())
      throw InfraError(fmt::format("referrers of {} in {}: {} is not an index", digest, from, tag));
    nlohmann::json target = {
        {"schemaVersion", 2}, {"mediaType", registry::kOciIndex}, {"manifests", nlohmann::json::array()}};
    if (auto existing = registry.get_manifest(to, tag)) {
      auto parsed = nlohmann::json::parse(existing->body, nullptr, false);
      if (!parsed.is_discarded() && parsed.contains("manifests") && parsed["manifests"].is_array()) target = parsed;
    }
    std::set<std::string> there;
    for (const auto& entry : target["manifests"]) there.insert(entry.value("digest", ""));
    for (const auto& entry : index["manifests"]) {
      const std::string artifact = entry.value("digest", "");
      if (there.count(artifact)) continue;
      auto manifest = registry.get_manifest(from, artifact);
      if (!manifest) continue;  // listed but gone: nothing to carry
      copy_manifest(registry, from, to, *manifest, artifact);
      target["manifests"].push_back(entry);
      there.insert(artifact);
      ++copied;
    }
    if (copied > 0) {
      registry::Manifest updated;
      updated.media_type = registry::kOciIndex;
      updated.body = target.dump();
      updated.digest = registry::sha256_digest(updated.body);
      registry.put_manifest(to, tag, updated);
    }
  }
  for (const char* suffix : {".sig", ".att", ".sbom"}) {
    if (auto manifest = registry.get_manifest(from, tag + suffix)) {
      copy_manifest(registry, from, to, *manifest, tag + suffix);
      ++copied;
    }
  }
  return copied;
}

}  // namespace gate::pipeline

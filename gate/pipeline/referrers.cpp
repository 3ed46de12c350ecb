#include "pipeline/referrers.h"

#include <fmt/format.h>

#include <future>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "registry/digest.h"
#include "registry/manifest.h"

namespace gate::pipeline {

namespace {

constexpr const char* kEmptyConfig = "application/vnd.oci.empty.v1+json";
constexpr const char* kEmptyJson = "{}";

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

registry::Manifest artifact_manifest(registry::Registry& registry, const std::string& repository,
                                     const std::string& type, const std::string& bytes, const nlohmann::json& extra) {
  // (New by construction: every artifact's bytes carry their own time.)
  const std::string layer = registry.upload_blob(repository, bytes);
  // The empty config is in the repository after its first artifact: not
  // asked for here; store_artifact pushes it when the registry says it lacks it.
  const std::string config = registry::sha256_digest(kEmptyJson);
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", registry::kOciManifest},
                             {"artifactType", type},
                             {"config", {{"mediaType", kEmptyConfig}, {"digest", config}, {"size", 2}}},
                             {"layers", {{{"mediaType", type}, {"digest", layer}, {"size", bytes.size()}}}}};
  manifest.update(extra);
  registry::Manifest artifact;
  artifact.media_type = registry::kOciManifest;
  artifact.body = manifest.dump();
  artifact.digest = registry::sha256_digest(artifact.body);
  return artifact;
}

std::string store_artifact(registry::Registry& registry, const std::string& repository,
                           const std::function<std::string()>& put) {
  try {
    return put();
  } catch (const registry::BlobUnknown&) {
    registry.push_blob(repository, kEmptyJson);
    return put();
  }
}

namespace {

// Entries are appended, so the first ones of a type are its oldest.
void drop_oldest(nlohmann::json& entries, const std::string& type, size_t keep) {
  size_t of_type = 0;
  for (const auto& entry : entries) of_type += entry.is_object() && entry.value("artifactType", "") == type;
  size_t drop = of_type > keep ? of_type - keep : 0;
  nlohmann::json kept = nlohmann::json::array();
  for (auto& entry : entries) {
    if (drop > 0 && entry.is_object() && entry.value("artifactType", "") == type) {
      --drop;
      continue;
    }
    kept.push_back(std::move(entry));
  }
  entries = std::move(kept);
}

}  // namespace

std::string attach_artifact(registry::Registry& registry, const std::string& repository, const std::string& subject,
                            const std::string& type, const std::string& bytes, const std::string& created,
                            const std::map<std::string, std::string>& annotations, size_t keep_of_type) {
  auto image = registry.get_manifest(repository, subject);
  if (!image) throw InfraError(fmt::format("attaching to {}: the image is not in {}", subject, repository));
  return attach_artifact(registry, repository, registry::descriptor_of(*image), type, bytes, created, annotations,
                         keep_of_type);
}

std::string attach_artifact(registry::Registry& registry, const std::string& repository,
                            const registry::Descriptor& image, const std::string& type, const std::string& bytes,
                            const std::string& created, const std::map<std::string, std::string>& annotations,
                            size_t keep_of_type) {
  const std::string& subject = image.digest;
  // The referrers tag schema: an index under "sha256-<hex>" listing the
  // artifacts. It is read while the artifact is pushed: neither needs the
  // other, and each is a round trip at the end of a run.
  const std::string tag = referrers_tag(subject);
  auto existing_index = std::async(std::launch::async, [&] { return registry.get_manifest(repository, tag); });
  nlohmann::json notes = {{"org.opencontainers.image.created", created}};
  for (const auto& [key, value] : annotations) notes[key] = value;
  const registry::Manifest artifact =
      artifact_manifest(registry, repository, type, bytes,
                        {{"subject", {{"mediaType", image.media_type}, {"digest", image.digest}, {"size", image.size}}},
                         {"annotations", notes}});
  const std::string stored = store_artifact(
      registry, repository, [&] { return registry.put_manifest(repository, artifact.digest, artifact); });
  if (stored != artifact.digest)
    throw InfraError(fmt::format("attaching to {}: the registry stored the artifact as '{}'", subject, stored));

  nlohmann::json index = {
      {"schemaVersion", 2}, {"mediaType", registry::kOciIndex}, {"manifests", nlohmann::json::array()}};
  if (auto existing = existing_index.get()) {
    auto parsed = nlohmann::json::parse(existing->body, nullptr, false);
    if (!parsed.is_discarded() && parsed.contains("manifests") && parsed["manifests"].is_array()) {
      index = parsed;
    } else {
      log::warn(fmt::format("the referrers index {} of {} was not an index; starting it anew", tag, repository));
    }
  }
  index["manifests"].push_back({{"mediaType", registry::kOciManifest},
                                {"digest", artifact.digest},
                                {"size", artifact.body.size()},
                                {"artifactType", type},
                                {"annotations", {{"org.opencontainers.image.created", created}}}});
  if (keep_of_type > 0) drop_oldest(index["manifests"], type, keep_of_type);
  registry::Manifest listing;
  listing.media_type = registry::kOciIndex;
  listing.body = index.dump();
  listing.digest = registry::sha256_digest(listing.body);
  registry.put_manifest(repository, tag, listing);
  return artifact.digest;
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

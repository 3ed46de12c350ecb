#include "registry/manifest.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace gate::registry {
namespace {

Descriptor descriptor_of(const nlohmann::json& json) {
  Descriptor d;
  d.media_type = json.value("mediaType", "");
  d.digest = json.value("digest", "");
  d.size = json.value("size", 0LL);
  if (json.contains("platform") && json["platform"].is_object()) {
    d.platform = json["platform"].value("os", "") + "/" + json["platform"].value("architecture", "");
    if (json["platform"].contains("variant")) d.platform += "/" + json["platform"].value("variant", "");
  }
  return d;
}

}  // namespace

ManifestRefs manifest_refs(const std::string& media_type, const std::string& body, const std::string& what) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    throw InfraError(fmt::format("{}: the manifest is not JSON", what));
  }
  std::string type = media_type;
  if (auto semi = type.find(';'); semi != std::string::npos) type.resize(semi);
  if (type.empty() || type == "application/json") type = json.value("mediaType", "");
  ManifestRefs refs;
  if (type == kOciIndex || type == kDockerList) {
    refs.is_index = true;
    if (!json.contains("manifests") || !json["manifests"].is_array()) {
      throw InfraError(fmt::format("{}: index without a manifests list", what));
    }
    for (const auto& child : json["manifests"]) refs.manifests.push_back(descriptor_of(child));
  } else if (type == kOciManifest || type == kDockerManifest) {
    if (json.contains("config")) refs.blobs.push_back(descriptor_of(json["config"]));
    if (json.contains("layers") && json["layers"].is_array()) {
      for (const auto& layer : json["layers"]) refs.blobs.push_back(descriptor_of(layer));
    }
  } else {
    throw InfraError(fmt::format("{}: unsupported manifest media type '{}'", what, media_type));
  }
  for (const auto& d : refs.manifests) {
    if (d.digest.empty()) throw InfraError(fmt::format("{}: a child manifest without a digest", what));
  }
  for (const auto& d : refs.blobs) {
    if (d.digest.empty()) throw InfraError(fmt::format("{}: a blob without a digest", what));
  }
  return refs;
}

}  // namespace gate::registry

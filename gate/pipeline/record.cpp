#include "pipeline/record.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "registry/digest.h"
#include "registry/manifest.h"
#include "version.h"

namespace gate::pipeline {
namespace {

constexpr const char* kEmptyConfig = "application/vnd.oci.empty.v1+json";

std::string referrers_tag(const std::string& digest) {
  std::string tag = digest;
  tag[tag.find(':')] = '-';
  return tag;  // "sha256-<hex>"
}

}  // namespace

std::string attach_record(registry::Registry& registry, const std::string& repository, const report::Verdict& verdict) {
  auto subject = registry.get_manifest(repository, verdict.candidate.digest);
  if (!subject)
    throw InfraError(fmt::format("record: the candidate {} is not in the registry", verdict.candidate.digest));
  nlohmann::json consumers = nlohmann::json::array();
  for (const auto& c : verdict.consumers) {
    size_t executed = 0;
    for (const auto& t : c.tests) executed += t.status != report::TestStatus::skipped;
    consumers.push_back({{"name", c.name},
                         {"repo", c.repo},
                         {"ref", c.ref},
                         {"commit", c.commit},
                         {"status", report::consumer_status_name(c.status)},
                         {"tests", c.tests.size()},
                         {"executed", executed}});
  }
  std::string baseline;
  if (!verdict.tags_seen.empty()) baseline = verdict.tags_seen.begin()->second;
  nlohmann::json record = {
      {"schema", "gate.record/v1"},
      {"gate_version", kGateVersion},
      {"verdict", exit_code_name(verdict.exit_code)},
      {"dry_run", verdict.dry_run},
      {"candidate", {{"repository", verdict.candidate.repository}, {"digest", verdict.candidate.digest}}},
      {"consumers", consumers},
      {"baseline_digest", baseline},
      {"verified_at", verdict.started_at}};
  std::string record_bytes = record.dump(1);
  std::string record_digest = registry.push_blob(repository, record_bytes);
  std::string config_digest = registry.push_blob(repository, "{}");
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", registry::kOciManifest},
      {"artifactType", kRecordArtifactType},
      {"config", {{"mediaType", kEmptyConfig}, {"digest", config_digest}, {"size", 2}}},
      {"layers", {{{"mediaType", kRecordArtifactType}, {"digest", record_digest}, {"size", record_bytes.size()}}}},
      {"subject", {{"mediaType", subject->media_type}, {"digest", subject->digest}, {"size", subject->body.size()}}},
      {"annotations", {{"org.opencontainers.image.created", verdict.started_at}, {"dev.gate.verdict", "passed"}}}};
  registry::Manifest artifact;
  artifact.media_type = registry::kOciManifest;
  artifact.body = manifest.dump();
  artifact.digest = registry::sha256_digest(artifact.body);
  std::string stored = registry.put_manifest(repository, artifact.digest, artifact);
  if (stored != artifact.digest)
    throw InfraError(fmt::format("record: the registry stored the artifact as '{}'", stored));

  // The referrers tag schema: an index under "sha256-<hex>" listing the artifacts.
  std::string tag = referrers_tag(verdict.candidate.digest);
  nlohmann::json index = {
      {"schemaVersion", 2}, {"mediaType", registry::kOciIndex}, {"manifests", nlohmann::json::array()}};
  if (auto existing = registry.get_manifest(repository, tag)) {
    try {
      index = nlohmann::json::parse(existing->body);
    } catch (const nlohmann::json::exception&) {
      log::warn(fmt::format("record: the referrers index {} was not JSON; starting it anew", tag));
    }
  }
  index["manifests"].push_back({{"mediaType", registry::kOciManifest},
                                {"digest", artifact.digest},
                                {"size", artifact.body.size()},
                                {"artifactType", kRecordArtifactType},
                                {"annotations", {{"org.opencontainers.image.created", verdict.started_at}}}});
  registry::Manifest index_manifest;
  index_manifest.media_type = registry::kOciIndex;
  index_manifest.body = index.dump();
  index_manifest.digest = registry::sha256_digest(index_manifest.body);
  registry.put_manifest(repository, tag, index_manifest);
  log::info(fmt::format("recorded the verification of {} as {} (referrers tag {})", verdict.candidate.digest,
                        artifact.digest, tag));
  return artifact.digest;
}

std::vector<ConsumerVerification> read_records(registry::Registry& registry, const std::string& repository,
                                               const std::string& digest, const config::Config& config) {
  std::vector<ConsumerVerification> out;
  for (const auto& c : config.consumers) out.push_back({c.name, false, "", "", ""});
  auto index = registry.get_manifest(repository, referrers_tag(digest));
  if (!index) return out;
  nlohmann::json listing = nlohmann::json::parse(index->body, nullptr, false);
  if (listing.is_discarded() || !listing.contains("manifests")) return out;
  for (const auto& entry : listing["manifests"]) {
    if (entry.value("artifactType", "") != kRecordArtifactType) continue;
    auto artifact = registry.get_manifest(repository, entry.value("digest", ""));
    if (!artifact) continue;
    auto manifest = nlohmann::json::parse(artifact->body, nullptr, false);
    if (manifest.is_discarded() || !manifest.contains("subject") || manifest["subject"].value("digest", "") != digest) {
      continue;  // a record must name this very image as its subject
    }
    for (const auto& layer : manifest.value("layers", nlohmann::json::array())) {
      auto blob = registry.get_blob(repository, layer.value("digest", ""));
      if (!blob) continue;
      auto record = nlohmann::json::parse(*blob, nullptr, false);
      if (record.is_discarded() || record.value("verdict", "") != "passed") continue;
      for (const auto& rc : record.value("consumers", nlohmann::json::array())) {
        for (auto& v : out) {
          if (v.consumer == rc.value("name", "") && rc.value("status", "") == "passed" &&
              rc.value("executed", 0) >= 0) {
            v.verified = true;
            v.commit = rc.value("commit", "");
            v.verified_at = record.value("verified_at", "");
            v.record = artifact->digest;
          }
        }
      }
    }
  }
  return out;
}

}  // namespace gate::pipeline

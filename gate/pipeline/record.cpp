#include "pipeline/record.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/referrers.h"
#include "registry/manifest.h"
#include "version.h"

namespace gate::pipeline {
namespace {

// The policy a verdict was reached under: the config file, by the digest of
// the bytes the run read.
nlohmann::json policy_of(const report::Verdict& verdict, const std::string& config_digest) {
  return {{"uri", "file:" + std::filesystem::path(verdict.config_file).filename().string()},
          {"digest", {{"sha256", config_digest.substr(config_digest.find(':') + 1)}}}};
}

// An in-toto Statement whose predicate is a SLSA Verification Summary: the
// subject is the image digest, the policy the config, and gate's own
// results sit in an extension field named by a URI (kConsumersField).
nlohmann::json verification_summary(const report::Verdict& verdict, const std::string& config_digest,
                                    const nlohmann::json& consumers, const std::string& baseline) {
  const std::string digest = verdict.candidate.digest;
  nlohmann::json predicate = {{"verifier", {{"id", kVerifierId}, {"version", {{"gate", kGateVersion}}}}},
                              {"timeVerified", verdict.started_at},
                              {"resourceUri", "oci://" + verdict.candidate.repository + "@" + digest},
                              {"policy", policy_of(verdict, config_digest)},
                              {"inputAttestations", nlohmann::json::array()},
                              {"verificationResult", verdict.exit_code == ExitCode::passed ? "PASSED" : "FAILED"},
                              // Not a SLSA build level: custom results must not begin with SLSA_.
                              {"verifiedLevels", {"GATE_CONSUMERS_VERIFIED"}},
                              {kConsumersField,
                               {{"consumers", consumers},
                                {"consumer_versions", verdict.versions},
                                {"baseline_digest", baseline},
                                {"dry_run", verdict.dry_run},
                                {"command", verdict.command}}}};
  return {{"_type", "https://in-toto.io/Statement/v1"},
          {"subject", {{{"name", verdict.candidate.repository}, {"digest", {{"sha256", digest.substr(7)}}}}}},
          {"predicateType", "https://slsa.dev/verification_summary/v1"},
          {"predicate", std::move(predicate)}};
}

// What a record says, in either shape gate wrote: the VSA, or the
// gate.record/v1 document of gates before it. Nothing when it is neither.
struct RecordView {
  bool passed = false;
  std::string verified_at;
  nlohmann::json consumers;
};
std::optional<RecordView> view_of(const nlohmann::json& record, const std::string& digest) {
  if (!record.is_object()) return std::nullopt;
  if (record.value("_type", "") == "https://in-toto.io/Statement/v1") {
    const auto& subjects = record.value("subject", nlohmann::json::array());
    bool names_it = std::any_of(subjects.begin(), subjects.end(), [&](const nlohmann::json& s) {
      return s.is_object() && s.contains("digest") && s["digest"].is_object() &&
             "sha256:" + s["digest"].value("sha256", "") == digest;
    });
    const auto& predicate = record.value("predicate", nlohmann::json::object());
    if (!names_it || record.value("predicateType", "") != "https://slsa.dev/verification_summary/v1" ||
        !predicate.is_object())
      return std::nullopt;
    const auto& ours = predicate.value(kConsumersField, nlohmann::json::object());
    return RecordView{predicate.value("verificationResult", "") == "PASSED", predicate.value("timeVerified", ""),
                      ours.is_object() ? ours.value("consumers", nlohmann::json::array()) : nlohmann::json::array()};
  }
  if (record.value("schema", "") == "gate.record/v1") {
    return RecordView{record.value("verdict", "") == "passed", record.value("verified_at", ""),
                      record.value("consumers", nlohmann::json::array())};
  }
  return std::nullopt;
}

}  // namespace

Record record_of(const report::Verdict& verdict, const std::string& config_digest,
                 const registry::Descriptor& subject_seen) {
  nlohmann::json consumers = nlohmann::json::array();
  for (const auto& c : verdict.consumers) {
    size_t executed = 0;
    for (const auto& t : c.tests) executed += t.status != report::TestStatus::skipped;
    consumers.push_back({{"name", c.name},
                         {"repo", c.repo},
                         {"ref", c.ref},
                         {"commit", c.commit},
                         {"status", report::consumer_status_name(c.status)},
                         {"shard", c.shard},
                         {"tests", c.tests.size()},
                         {"executed", executed}});
  }
  std::string baseline;
  if (!verdict.tags_seen.empty()) baseline = verdict.tags_seen.begin()->second;
  return {verdict.candidate.digest, verification_summary(verdict, config_digest, consumers, baseline).dump(1),
          verdict.started_at, subject_seen};
}

std::string attach_record(registry::Registry& registry, const std::string& repository, const Record& record) {
  const std::map<std::string, std::string> notes{{"dev.gate.verdict", "passed"}};
  const std::string artifact = record.subject_seen.digest == record.subject
                                   ? attach_artifact(registry, repository, record.subject_seen, kVsaArtifactType,
                                                     record.document, record.created, notes, kRecordsListed)
                                   : attach_artifact(registry, repository, record.subject, kVsaArtifactType,
                                                     record.document, record.created, notes, kRecordsListed);
  log::info(fmt::format("recorded the verification of {} as {} (referrers tag {})", record.subject, artifact,
                        referrers_tag(record.subject)));
  return artifact;
}

namespace {

struct NoticeFormat {
  const char* artifact_type;
  const char* schema;
  const char* annotation;
};

NoticeFormat format_of(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::revocation:
      return {"application/vnd.gate.revocation.v1+json", "gate.revocation/v1", "dev.gate.revoked"};
    case NoticeKind::override_publish:
      return {"application/vnd.gate.override.v1+json", "gate.override/v1", "dev.gate.override"};
  }
  throw std::logic_error("unknown notice kind");
}

}  // namespace

std::string attach_notice(registry::Registry& registry, const std::string& repository, const std::string& digest,
                          NoticeKind kind, const Notice& notice) {
  const NoticeFormat format = format_of(kind);
  const nlohmann::json body = {
      {"schema", format.schema}, {"digest", digest}, {"at", notice.at}, {"who", notice.who}, {"reason", notice.reason}};
  return attach_artifact(registry, repository, digest, format.artifact_type, body.dump(1), notice.at,
                         {{format.annotation, "true"}});
}

std::optional<Notice> read_notice(registry::Registry& registry, const std::string& repository,
                                  const std::string& digest, NoticeKind kind) {
  const NoticeFormat format = format_of(kind);
  auto index = registry.get_manifest(repository, referrers_tag(digest));
  if (!index) return std::nullopt;
  auto listing = nlohmann::json::parse(index->body, nullptr, false);
  if (listing.is_discarded() || !listing.contains("manifests") || !listing["manifests"].is_array()) return std::nullopt;
  for (const auto& entry : listing["manifests"]) {
    // Only the kind asked for is fetched: the index says each entry's type.
    if (!entry.is_object() || entry.value("artifactType", "") != format.artifact_type) continue;
    auto artifact = registry.get_manifest(repository, entry.value("digest", ""));
    if (!artifact) continue;
    auto manifest = nlohmann::json::parse(artifact->body, nullptr, false);
    if (manifest.is_discarded() || !manifest.contains("subject") || manifest["subject"].value("digest", "") != digest ||
        !manifest.contains("layers") || !manifest["layers"].is_array() || manifest["layers"].empty())
      continue;
    auto blob = registry.get_blob(repository, manifest["layers"][0].value("digest", ""));
    if (!blob) continue;
    auto body = nlohmann::json::parse(*blob, nullptr, false);
    if (body.is_discarded() || body.value("schema", "") != format.schema || body.value("digest", "") != digest)
      continue;
    return Notice{body.value("at", ""), body.value("who", ""), body.value("reason", ""), artifact->digest};
  }
  return std::nullopt;
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
    const std::string type = entry.value("artifactType", "");
    if (type != kVsaArtifactType && type != kRecordArtifactType) continue;
    auto artifact = registry.get_manifest(repository, entry.value("digest", ""));
    if (!artifact) continue;
    auto manifest = nlohmann::json::parse(artifact->body, nullptr, false);
    if (manifest.is_discarded() || !manifest.contains("subject") || manifest["subject"].value("digest", "") != digest) {
      continue;  // a record must name this very image as its subject
    }
    for (const auto& layer : manifest.value("layers", nlohmann::json::array())) {
      auto blob = registry.get_blob(repository, layer.value("digest", ""));
      if (!blob) continue;
      auto view = view_of(nlohmann::json::parse(*blob, nullptr, false), digest);
      if (!view || !view->passed || !view->consumers.is_array()) continue;
      for (const auto& rc : view->consumers) {
        if (!rc.is_object()) continue;
        // A record is anyone's push: a field of another type reads as absent.
        auto text = [&rc](const char* key) {
          auto it = rc.find(key);
          return it != rc.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        for (size_t i = 0; i < out.size(); ++i) {
          auto& v = out[i];
          // A shard's pass is not the consumer's: only a whole run verifies
          // it; nor is a pass of another repository under the same name.
          const bool whole = !rc.contains("shard") || (rc["shard"].is_string() && text("shard").empty());
          if (v.consumer == text("name") && text("status") == "passed" && whole &&
              text("repo") == log::redact(config.consumers[i].repo)) {
            v.verified = true;
            v.commit = text("commit");
            v.verified_at = view->verified_at;
            v.record = artifact->digest;
          }
        }
      }
    }
  }
  return out;
}

std::string why_not_verified(registry::Registry& registry, const std::string& repository, const std::string& digest,
                             const config::Config& config) {
  if (auto revoked = read_notice(registry, repository, digest, NoticeKind::revocation))
    return fmt::format("its verification was revoked on {} by {}: {}", revoked->at, revoked->who, revoked->reason);
  std::string missing;
  for (const auto& v : read_records(registry, repository, digest, config))
    if (!v.verified) missing += (missing.empty() ? "" : ", ") + v.consumer;
  return missing.empty() ? "" : "it has no verification record for " + missing;
}

}  // namespace gate::pipeline

// publish and status: the release tags, and what a digest was verified against.
#include <fmt/format.h>

#include <cstdio>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/record.h"
#include "pipeline/session.h"
#include "pipeline/verdict_check.h"

namespace gate::pipeline {

ExitCode publish(const CommonOptions& common, const PublishOptions& options) {
  Session session(common, "publish");
  const config::Config& config = session.config;
  if (options.candidate.empty() && options.verdict_file.empty()) {
    throw UsageError("publish needs --verdict verdict.json (of a passing run) or --candidate REPOSITORY@sha256:...");
  }
  std::string digest;
  std::map<std::string, std::string> seen;
  if (!options.verdict_file.empty()) {
    VerdictClaim claim = read_verdict(options.verdict_file, config);
    digest = claim.digest;
    seen = claim.tags_seen;
  }
  if (!options.candidate.empty()) {
    registry::Reference ref = registry::parse_reference(options.candidate);
    if (ref.digest.empty()) {
      throw UsageError(
          fmt::format("publish {}: give the tested digest (REPOSITORY@sha256:...); "
                      "a tag could have moved since it was tested",
                      options.candidate));
    }
    if (ref.name() != config.image.repository) {
      throw UsageError(
          fmt::format("publish {}: not in the configured repository {}", options.candidate, config.image.repository));
    }
    if (!digest.empty() && digest != ref.digest) {
      throw Error(ExitCode::blocked,
                  fmt::format("publish refused: --candidate {} is not the digest {} the verdict passed",
                              options.candidate, digest));
    }
    digest = ref.digest;
  }
  auto expect = expectations(options.expect_current, config, seen);
  // No preflight here: the first request says if the registry is not there,
  // and publishing stays 1 GET + a HEAD and a PUT per tag.
  registry::Client& registry = session.registry();
  // A withdrawn verification vouches for nothing, whatever vouched before.
  if (options.require_record || !options.verdict_file.empty()) {
    if (auto revoked = read_revocation(registry, repository_of(config).repository, digest)) {
      throw Error(ExitCode::blocked, fmt::format("publish refused: the verification of {} was revoked on {} by {}: {}",
                                                 digest, revoked->at, revoked->who, revoked->reason));
    }
  }
  if (options.require_record) {
    session.select_consumers();  // the versions users run now
    std::string missing;
    for (const auto& v : read_records(registry, repository_of(config).repository, digest, config)) {
      if (!v.verified) missing += (missing.empty() ? "" : ", ") + v.consumer;
    }
    if (!missing.empty()) {
      throw Error(ExitCode::blocked, fmt::format("publish refused: {} has no verification record for {} "
                                                 "(--require-record)",
                                                 digest, missing));
    }
  }
  if (options.dry_run) {
    log::info(fmt::format("dry run: would move {} to {}", fmt::join(config.image.publish_tags, ", "), digest));
    return ExitCode::passed;
  }
  std::string requests;
  const MoveReason reason{
      "publish", !options.verdict_file.empty()
                     ? fmt::format("verified: the passing verdict {}", options.verdict_file.filename().string())
                 : options.require_record ? "verified: a record for every consumer (--require-record)"
                                          : "gate publish --candidate (no verdict or record asked for)"};
  auto published = publish_candidate(registry, common.registry, config, digest, expect, session.cache_dir(),
                                     options.serialized, &requests, reason);
  for (const auto& p : published) {
    std::printf("%s:%s %s (was %s)\n", config.image.release_repository().c_str(), p.tag.c_str(), p.digest.c_str(),
                p.previous_digest.empty() ? "new" : p.previous_digest.c_str());
  }
  std::fflush(stdout);
  return ExitCode::passed;
}

ExitCode status(const CommonOptions& common, const StatusOptions& options) {
  Session session(common, "status");
  session.select_consumers();  // the versions users run now
  const config::Config& config = session.config;
  registry::Reference ref = registry::parse_reference(options.image);
  if (ref.name() != config.image.repository) {
    throw UsageError(
        fmt::format("status {}: not in the configured repository {}", options.image, config.image.repository));
  }
  // The image is in the configured repository, so on the session's registry.
  registry::Client& registry = session.registry();
  std::string digest = ref.digest;
  if (digest.empty()) {
    auto manifest = registry.get_manifest(ref.repository, ref.tag.empty() ? "latest" : ref.tag);
    if (!manifest) throw InfraError(fmt::format("status {}: no such image in the registry", options.image));
    digest = manifest->digest;
  }
  if (auto revoked = read_revocation(registry, ref.repository, digest)) {
    std::printf("%s@%s: NOT deployable: its verification was revoked on %s by %s: %s\n", ref.name().c_str(),
                digest.c_str(), revoked->at.c_str(), revoked->who.c_str(), revoked->reason.c_str());
    std::fflush(stdout);
    return ExitCode::blocked;
  }
  bool all = true;
  for (const auto& v : read_records(registry, ref.repository, digest, config)) {
    all = all && v.verified;
    if (v.verified) {
      std::printf("%s: verified at commit %s on %s (record %s)\n", v.consumer.c_str(), v.commit.c_str(),
                  v.verified_at.c_str(), v.record.c_str());
    } else {
      std::printf("%s: not verified\n", v.consumer.c_str());
    }
  }
  std::printf("%s@%s: %s\n", ref.name().c_str(), digest.c_str(),
              all ? "can be deployed: verified against every consumer" : "NOT verified against every consumer");
  std::fflush(stdout);
  return all ? ExitCode::passed : ExitCode::blocked;
}

}  // namespace gate::pipeline

// publish and status: the release tags, and what a digest was verified against.
#include <fmt/format.h>

#include <cstdio>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/history.h"
#include "pipeline/publish.h"
#include "pipeline/record.h"
#include "pipeline/session.h"
#include "pipeline/verdict_check.h"

namespace gate::pipeline {

namespace {

// The digest to publish (of the verdict, or --candidate, which must agree)
// and the tags as the verdict's run saw them.
struct PublishTarget {
  std::string digest;
  std::map<std::string, std::string> seen;
};
PublishTarget target_of(const PublishOptions& options, const config::Config& config) {
  if (options.candidate.empty() && options.verdict_file.empty()) {
    throw UsageError("publish needs --verdict verdict.json (of a passing run) or --candidate REPOSITORY@sha256:...");
  }
  PublishTarget target;
  if (!options.verdict_file.empty()) {
    VerdictClaim claim = read_verdict(options.verdict_file, config);
    target.digest = claim.digest;
    target.seen = claim.tags_seen;
  }
  if (options.candidate.empty()) return target;
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
  if (!target.digest.empty() && target.digest != ref.digest) {
    throw Error(ExitCode::blocked,
                fmt::format("publish refused: --candidate {} is not the digest {} the verdict passed",
                            options.candidate, target.digest));
  }
  target.digest = ref.digest;
  return target;
}

// What vouches for the digest, as the history will say; throws (exit 1)
// when nothing does and there is no --override. `by_override`: the
// override must be recorded on the digest before any tag moves.
MoveReason evidence_for(Session& session, const PublishOptions& options, const std::string& digest, bool& by_override) {
  registry::Client& registry = session.registry();
  const std::string repository = repository_of(session.config).repository;
  MoveReason reason{"publish", ""};
  by_override = false;
  if (!options.verdict_file.empty()) {
    // The verdict is the evidence; a withdrawn verification still vouches for nothing.
    if (auto revoked = read_notice(registry, repository, digest, NoticeKind::revocation)) {
      throw Error(ExitCode::blocked, fmt::format("publish refused: the verification of {} was revoked on {} by {}: {}",
                                                 digest, revoked->at, revoked->who, revoked->reason));
    }
    reason.why = fmt::format("verified: the passing verdict {}", options.verdict_file.filename().string());
    if (!options.require_record) return reason;
  }
  // A bare digest carries no evidence: its records must (the versions users run now).
  session.select_consumers();
  const std::string why = why_not_verified(registry, repository, digest, session.config);
  if (why.empty()) {
    if (reason.why.empty()) reason.why = "verified: a record for every consumer";
    if (options.override_publish) log::info(fmt::format("{} is verified: --override was not needed", digest));
    return reason;
  }
  if (!options.override_publish) {
    throw Error(ExitCode::blocked, fmt::format("publish refused: {} is not verified: {}. Publish a passing "
                                               "--verdict, or --override --reason TEXT publishes it anyway, on "
                                               "the record",
                                               digest, why));
  }
  log::warn(
      fmt::format("publish --override: {} is not verified ({}): publishing it for: {}", digest, why, options.reason));
  by_override = true;
  return MoveReason{"override", options.reason};
}

}  // namespace

ExitCode publish(const CommonOptions& common, const PublishOptions& options) {
  if (options.override_publish && options.reason.empty()) {
    throw UsageError(
        "publish --override needs --reason TEXT: why a candidate that did not pass is published "
        "(recorded on the digest and in the history)");
  }
  if (options.override_publish && !options.verdict_file.empty()) {
    throw UsageError("publish --override takes --candidate REPOSITORY@sha256:..., not --verdict");
  }
  Session session(common, "publish");
  const config::Config& config = session.config;
  const PublishTarget target = target_of(options, config);
  auto expect = expectations(options.expect_current, config, target.seen);
  // No preflight here: the first request says if the registry is not there.
  registry::Client& registry = session.registry();
  bool by_override = false;
  const MoveReason reason = evidence_for(session, options, target.digest, by_override);
  if (options.dry_run) {
    log::info(fmt::format("dry run: would move {} to {}{}", fmt::join(config.image.publish_tags, ", "), target.digest,
                          by_override ? " (by override)" : ""));
    return ExitCode::passed;
  }
  // On the digest before any tag moves: an image published by override is never without its note.
  if (by_override) {
    const Notice notice{utc_now("%Y-%m-%dT%H:%M:%SZ"), current_actor(), options.reason, ""};
    log::info(fmt::format("recorded the override on {} ({})", target.digest,
                          attach_notice(registry, repository_of(config).repository, target.digest,
                                        NoticeKind::override_publish, notice)));
  }
  std::string requests;
  auto published = publish_candidate(registry, common.registry, config, target.digest, expect, session.cache_dir(),
                                     options.serialized, &requests, reason);
  print_moved(config, published);
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
  if (auto revoked = read_notice(registry, ref.repository, digest, NoticeKind::revocation)) {
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
  auto overridden = read_notice(registry, ref.repository, digest, NoticeKind::override_publish);
  if (all) {
    std::printf("%s@%s: can be deployed: verified against every consumer\n", ref.name().c_str(), digest.c_str());
  } else if (overridden) {
    std::printf("%s@%s: published by override, not verified: on %s by %s: %s\n", ref.name().c_str(), digest.c_str(),
                overridden->at.c_str(), overridden->who.c_str(), overridden->reason.c_str());
  } else {
    std::printf("%s@%s: NOT verified against every consumer\n", ref.name().c_str(), digest.c_str());
  }
  std::fflush(stdout);
  return all ? ExitCode::passed : ExitCode::blocked;
}

}  // namespace gate::pipeline

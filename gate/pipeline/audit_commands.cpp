// The audit trail: `gate history` (the tag moves and withdrawals kept in
// the registry), `gate revoke` (withdraw a digest's verification) and
// `gate rollback` (back to the last verified digest).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/history.h"
#include "pipeline/pipeline.h"
#include "pipeline/publish.h"
#include "pipeline/record.h"
#include "pipeline/session.h"
#include "registry/digest.h"

namespace gate::pipeline {

namespace {

std::string short_digest(const std::string& digest) {
  return digest.empty() ? "(new)" : digest.substr(0, std::min<size_t>(digest.size(), 19));
}

std::string unverified_because(registry::Registry& registry, const config::Config& config, const std::string& digest) {
  return why_not_verified(registry, repository_of(config).repository, digest, config);
}

// The last digest the first publish tag pointed to before `current` that is
// still verified, by the history (newest first).
std::string last_verified_before(registry::Registry& registry, const config::Config& config,
                                 const std::string& current) {
  const std::string tag = config.image.publish_tags.front();
  auto entries = read_history(registry, release_path(config));
  std::vector<std::string> looked;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->tag != tag || it->action == "revoke") continue;
    for (const std::string& digest : {it->to, it->from}) {
      if (digest.empty() || digest == current || std::find(looked.begin(), looked.end(), digest) != looked.end())
        continue;
      looked.push_back(digest);
      std::string why = unverified_because(registry, config, digest);
      if (why.empty()) return digest;
      log::info(fmt::format("rollback: passing over {}: {}", digest, why));
    }
  }
  throw Error(ExitCode::blocked,
              fmt::format("rollback: the history of {} holds no verified digest before {} for tag {} (looked at {})",
                          release_path(config), current.empty() ? "(unset)" : current, tag, looked.size()));
}

}  // namespace

ExitCode rollback(const CommonOptions& common, const RollbackOptions& options) {
  if (options.override && options.reason.empty())
    throw UsageError("rollback --override needs --reason TEXT: why an unverified digest is published");
  Session session(common, "rollback");
  session.select_consumers();  // verified against the versions users run now
  const config::Config& config = session.config;
  registry::Client& registry = session.registry();
  auto seen = observe_tags(registry, release_path(config), config.image.publish_tags);
  const std::string current = seen[config.image.publish_tags.front()];
  std::string target;
  bool record_override = false;
  if (!options.to.empty()) {
    registry::Reference ref = registry::parse_reference(
        options.to.find('@') == std::string::npos ? config.image.repository + "@" + options.to : options.to);
    if (!registry::is_valid_digest(ref.digest))
      throw UsageError(fmt::format("rollback --to {}: give a digest (sha256:... or REPO@sha256:...)", options.to));
    target = ref.digest;
    if (std::string why = unverified_because(registry, config, target); !why.empty()) {
      if (!options.override)
        throw Error(ExitCode::blocked, fmt::format("rollback refused: {} is not verified ({}); --override --reason "
                                                   "TEXT publishes it anyway, on the record",
                                                   target, why));
      log::warn(fmt::format("rollback --override: {} is not verified ({}): publishing it for: {}", target, why,
                            options.reason));
      record_override = true;
    }
  } else {
    target = last_verified_before(registry, config, current);
  }
  log::info(fmt::format("rollback: {} -> {}", current.empty() ? "(unset)" : current, target));
  if (options.dry_run) {
    std::printf("would move %s to %s\n", fmt::format("{}", fmt::join(config.image.publish_tags, ", ")).c_str(),
                target.c_str());
    return ExitCode::passed;
  }
  // Every tag where it was seen, or none moves (compare-and-swap, all-or-none).
  auto expect = expectations({}, config, seen);
  if (expect.empty()) expect = seen;
  if (record_override) {  // on the digest before any tag moves, as publish --override does
    const Notice notice{utc_now("%Y-%m-%dT%H:%M:%SZ"), current_actor(), options.reason, ""};
    attach_notice(registry, repository_of(config).repository, target, NoticeKind::override_publish, notice);
  }
  std::string requests;
  const MoveReason reason{
      record_override ? "override" : "rollback",
      options.reason.empty() ? fmt::format("rollback from {}", current.empty() ? "(unset)" : current) : options.reason};
  print_moved(config, publish_candidate(registry, common.registry, config, target, expect, session.cache_dir(),
                                        options.serialized, &requests, reason));
  return ExitCode::passed;
}

ExitCode history(const CommonOptions& common, const HistoryOptions& options) {
  Session session(common, "history");
  const std::string repository = release_path(session.config);
  auto entries = read_history(session.registry(), repository);
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) out.push_back(to_json(e));
    std::printf("%s\n", out.dump(1).c_str());
  } else if (entries.empty()) {
    std::printf("%s: no tag moved by gate yet\n", repository.c_str());
  } else {
    // Newest first, as one reads a log.
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      if (it->action == "revoke") {
        std::printf("%s revoke %s by %s: %s\n", it->at.c_str(), it->to.c_str(), it->who.c_str(), it->why.c_str());
        continue;
      }
      std::printf("%s %s %s: %s -> %s by %s: %s%s%s\n", it->at.c_str(), it->action.c_str(), it->tag.c_str(),
                  short_digest(it->from).c_str(), it->to.c_str(), it->who.c_str(), it->why.c_str(),
                  it->record.empty() ? "" : fmt::format(" (record {})", short_digest(it->record)).c_str(),
                  it->run.empty() ? "" : fmt::format(" [{}]", it->run).c_str());
    }
  }
  std::fflush(stdout);
  return ExitCode::passed;
}

ExitCode revoke(const CommonOptions& common, const RevokeOptions& options) {
  if (options.reason.empty()) throw UsageError("revoke needs --reason TEXT: why the verification is withdrawn");
  Session session(common, "revoke");
  const config::Config& config = session.config;
  registry::Reference ref = registry::parse_reference(options.image);
  if (ref.digest.empty() || !registry::is_valid_digest(ref.digest)) {
    throw UsageError(fmt::format("revoke {}: name the image by digest (REPO@sha256:...)", options.image));
  }
  const std::string source = repository_of(config).repository, release = release_path(config);
  if (ref.repository != source && ref.repository != release) {
    throw UsageError(fmt::format("revoke {}: not in the configured repository {} (or its publish_repository)",
                                 options.image, config.image.repository));
  }
  registry::Client& registry = session.registry();
  Notice revocation{utc_now("%Y-%m-%dT%H:%M:%SZ"), current_actor(), options.reason, ""};
  // Where records are read: the repository tested in, and the one published to.
  std::vector<std::string> repositories{source};
  if (release != source) repositories.push_back(release);
  for (const auto& repository : repositories) {
    if (!registry.head_manifest(repository, ref.digest)) continue;  // never published there
    revocation.artifact = attach_notice(registry, repository, ref.digest, NoticeKind::revocation, revocation);
    log::info(fmt::format("revoked the verification of {} in {} ({})", ref.digest, repository, revocation.artifact));
  }
  if (revocation.artifact.empty())
    throw InfraError(fmt::format("revoke {}: the image is in neither {} nor {}", ref.digest, source, release));
  try {
    append_history(
        registry, release,
        {{revocation.at, revocation.who, "revoke", "", "", ref.digest, "", options.reason, current_run_url()}});
  } catch (const InfraError& e) {
    log::warn(fmt::format("the revocation stands, but the history of {} was not written: {}", release, e.what()));
  }
  std::printf("%s@%s: verification revoked: %s\n", ref.name().c_str(), ref.digest.c_str(), options.reason.c_str());
  std::fflush(stdout);
  return ExitCode::passed;
}

}  // namespace gate::pipeline

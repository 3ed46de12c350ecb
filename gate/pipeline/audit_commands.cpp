// The audit trail: `gate history` (the tag moves and withdrawals kept in
// the registry) and `gate revoke` (withdraw a digest's verification).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/history.h"
#include "pipeline/pipeline.h"
#include "pipeline/record.h"
#include "pipeline/session.h"
#include "registry/digest.h"

namespace gate::pipeline {

namespace {

std::string short_digest(const std::string& digest) {
  return digest.empty() ? "(new)" : digest.substr(0, std::min<size_t>(digest.size(), 19));
}

}  // namespace

ExitCode history(const CommonOptions& common, const HistoryOptions& options) {
  Session session(common, "history");
  const std::string repository = release_path(session.config);
  auto entries = read_history(session.registry(), repository);
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back({{"at", e.at},
                     {"who", e.who},
                     {"action", e.action},
                     {"tag", e.tag},
                     {"from", e.from},
                     {"to", e.to},
                     {"record", e.record},
                     {"why", e.why},
                     {"run", e.run}});
    }
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
  Revocation revocation{utc_now("%Y-%m-%dT%H:%M:%SZ"), current_actor(), options.reason, ""};
  // Where records are read: the repository tested in, and the one published to.
  std::vector<std::string> repositories{source};
  if (release != source) repositories.push_back(release);
  for (const auto& repository : repositories) {
    if (!registry.head_manifest(repository, ref.digest)) continue;  // never published there
    revocation.artifact = attach_revocation(registry, repository, ref.digest, revocation);
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

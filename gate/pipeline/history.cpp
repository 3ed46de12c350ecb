#include "pipeline/history.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "pipeline/referrers.h"
#include "registry/digest.h"
#include "registry/manifest.h"

namespace gate::pipeline {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

HistoryEntry from_json(const nlohmann::json& j) {
  HistoryEntry e;
  e.at = j.value("at", "");
  e.who = j.value("who", "");
  e.action = j.value("action", "");
  e.tag = j.value("tag", "");
  e.from = j.value("from", "");
  e.to = j.value("to", "");
  e.record = j.value("record", "");
  e.why = j.value("why", "");
  e.run = j.value("run", "");
  return e;
}

struct Stored {
  std::string manifest_digest;  // "" when there is none yet
  std::vector<HistoryEntry> entries;
};

Stored read_stored(registry::Registry& registry, const std::string& repository) {
  Stored stored;
  auto manifest = registry.get_manifest(repository, kHistoryTag);
  if (!manifest) return stored;
  const std::string what = fmt::format("the history of {} (tag {})", repository, kHistoryTag);
  auto body = nlohmann::json::parse(manifest->body, nullptr, false);
  if (body.is_discarded() || body.value("artifactType", "") != kHistoryArtifactType || !body.contains("layers") ||
      !body["layers"].is_array() || body["layers"].empty())
    throw InfraError(fmt::format("{} is not gate's history artifact", what));
  auto blob = registry.get_blob(repository, body["layers"][0].value("digest", ""));
  if (!blob) throw InfraError(fmt::format("{}: its list is missing", what));
  auto list = nlohmann::json::parse(*blob, nullptr, false);
  if (list.is_discarded() || list.value("schema", "") != "gate.history/v1" || !list.contains("entries") ||
      !list["entries"].is_array())
    throw InfraError(fmt::format("{}: its list is not gate.history/v1", what));
  for (const auto& entry : list["entries"])
    if (entry.is_object()) stored.entries.push_back(from_json(entry));
  stored.manifest_digest = manifest->digest;
  return stored;
}

}  // namespace

nlohmann::json to_json(const HistoryEntry& e) {
  return {{"at", e.at}, {"who", e.who},       {"action", e.action}, {"tag", e.tag}, {"from", e.from},
          {"to", e.to}, {"record", e.record}, {"why", e.why},       {"run", e.run}};
}

std::vector<HistoryEntry> read_history(registry::Registry& registry, const std::string& repository) {
  return read_stored(registry, repository).entries;
}

void append_history(registry::Registry& registry, const std::string& repository,
                    const std::vector<HistoryEntry>& entries) {
  if (entries.empty()) return;
  Stored stored = read_stored(registry, repository);
  nlohmann::json list = {{"schema", "gate.history/v1"}, {"entries", nlohmann::json::array()}};
  for (const auto& e : stored.entries) list["entries"].push_back(to_json(e));
  for (const auto& e : entries) list["entries"].push_back(to_json(e));
  const registry::Manifest artifact =
      artifact_manifest(registry, repository, kHistoryArtifactType, list.dump(1),
                        {{"annotations", {{"org.opencontainers.image.created", entries.back().at}}}});
  store_artifact(registry, repository,
                 [&] { return registry.put_manifest_if(repository, kHistoryTag, artifact, stored.manifest_digest); });
}

std::string current_actor() {
  for (const char* name : {"GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER", "LOGNAME"}) {
    if (std::string value = env(name); !value.empty()) return value;
  }
  if (const passwd* user = ::getpwuid(::getuid()); user && user->pw_name) return user->pw_name;
  return "unknown";
}

std::string current_run_url() {
  if (!env("GITHUB_RUN_ID").empty() && !env("GITHUB_REPOSITORY").empty()) {
    std::string server = env("GITHUB_SERVER_URL");
    return fmt::format("{}/{}/actions/runs/{}", server.empty() ? "https://github.com" : server,
                       env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID"));
  }
  return env("CI_JOB_URL");
}

}  // namespace gate::pipeline

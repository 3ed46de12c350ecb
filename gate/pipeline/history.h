#pragma once
// The history of the tags gate moved and the verifications it withdrew, kept
// in the registry itself beside the tags: one OCI artifact per repository
// under tag "gate-history" (artifactType kHistoryArtifactType), whose one
// layer lists every entry, oldest first. Each write replaces the artifact
// with the list plus the new entries, conditionally on the one it read
// (If-Match; see publish.h for what a registry that ignores it allows).
// `gate history` prints it; rollback reads it for the digest to go back to.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "registry/registry.h"

namespace gate::pipeline {

inline constexpr const char* kHistoryTag = "gate-history";
inline constexpr const char* kHistoryArtifactType = "application/vnd.gate.history.v1+json";

struct HistoryEntry {
  std::string at;      // UTC, ISO 8601
  std::string who;     // the CI's actor, else the user
  std::string action;  // "publish", "rollback", "override", "revoke"
  std::string tag;     // "" for a revoke
  std::string from;    // the digest the tag pointed to ("" = new tag)
  std::string to;      // the digest it points to now (revoke: the digest withdrawn)
  std::string record;  // the verification record vouching for `to`, if any
  std::string why;     // the reason given, or what vouched
  std::string run;     // the CI run's URL, if any
};

// One entry as stored (and as `gate history --json` prints it).
nlohmann::json to_json(const HistoryEntry& entry);

// Oldest first; none when gate never wrote one. InfraError when the registry
// fails or the artifact is not gate's history.
std::vector<HistoryEntry> read_history(registry::Registry& registry, const std::string& repository);

// Appends the entries. InfraError on failure (callers whose tags already
// moved warn: the move stands, its entry is what is missing).
void append_history(registry::Registry& registry, const std::string& repository,
                    const std::vector<HistoryEntry>& entries);

// Who acts: GITHUB_ACTOR, GITLAB_USER_LOGIN, else USER; and the run's URL
// (GitHub's run, GitLab's CI_JOB_URL), "" outside CI.
std::string current_actor();
std::string current_run_url();

}  // namespace gate::pipeline

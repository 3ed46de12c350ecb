#pragma once
// The image repository's own history, for `gate bisect`: which commits lie
// between two, and the files of one of them.
#include <filesystem>
#include <string>
#include <vector>

namespace gate::git {

struct Commit {
  std::string id;  // full hex
  std::string subject;
};

// The commit REV names in the repository holding `inside`. UsageError when
// it names none, InfraError when there is no repository.
Commit resolve_commit(const std::filesystem::path& inside, const std::string& rev);

// The commits after `good` up to and including `bad`, along first parents
// (the history as it was merged), oldest first. UsageError when `good` is
// not an ancestor of `bad`.
std::vector<Commit> first_parent_range(const std::filesystem::path& inside, const std::string& good,
                                       const std::string& bad);

// `inside` relative to the working tree of its repository ("." for the root).
std::filesystem::path path_in_repository(const std::filesystem::path& inside);

// Writes the files of `commit` into `directory` (created; no .git, the
// repository's index and working tree untouched).
void export_commit(const std::filesystem::path& inside, const std::string& commit,
                   const std::filesystem::path& directory);

}  // namespace gate::git

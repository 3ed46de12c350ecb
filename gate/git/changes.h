#pragma once
// What a change touched, for PR mode: the files that differ between the
// merge base of BASE and HEAD, and HEAD (what the pull request itself changed).
#include <filesystem>
#include <string>
#include <vector>

namespace gate::git {

struct Changes {
  std::string base_commit;  // the merge base
  std::string head_commit;
  std::vector<std::string> files;  // repository-relative paths (old and new names of renames)
};

// `inside`: any path in the repository. Throws UsageError when BASE does not
// name a commit, InfraError when there is no repository.
Changes changed_files(const std::filesystem::path& inside, const std::string& base);

}  // namespace gate::git

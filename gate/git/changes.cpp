#include "git/changes.h"

#include <fmt/format.h>

#include <set>

#include "core/error.h"
#include "git/libgit2.h"

namespace gate::git {

using namespace detail;

Changes changed_files(const std::filesystem::path& inside, const std::string& base) {
  ensure_initialised();
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, inside.c_str(), 0, nullptr) != 0) {
    throw InfraError(
        fmt::format("--changed-since: {} is not inside a git repository: {}", inside.string(), last_error()));
  }
  RepositoryPtr repo(raw);
  auto commit_of = [&](const std::string& spec) {
    git_object* object = nullptr;
    if (git_revparse_single(&object, repo.get(), spec.c_str()) != 0) {
      throw UsageError(
          fmt::format("--changed-since {}: no such commit in {} ({})", base, inside.string(), last_error()));
    }
    ObjectPtr owned(object);
    git_object* commit = nullptr;
    if (git_object_peel(&commit, owned.get(), GIT_OBJECT_COMMIT) != 0) {
      throw UsageError(fmt::format("--changed-since {}: '{}' is not a commit", base, spec));
    }
    return CommitPtr(reinterpret_cast<git_commit*>(commit));
  };
  CommitPtr head = commit_of("HEAD");
  CommitPtr base_commit = commit_of(base);
  git_oid merge_base;
  if (git_merge_base(&merge_base, repo.get(), git_commit_id(base_commit.get()), git_commit_id(head.get())) != 0) {
    throw UsageError(fmt::format("--changed-since {}: no common history with HEAD", base));
  }
  git_commit* raw_base = nullptr;
  if (git_commit_lookup(&raw_base, repo.get(), &merge_base) != 0) throw InfraError(last_error());
  CommitPtr merge_base_commit(raw_base);

  git_tree* raw_old = nullptr;
  git_tree* raw_new = nullptr;
  if (git_commit_tree(&raw_old, merge_base_commit.get()) != 0 || git_commit_tree(&raw_new, head.get()) != 0) {
    throw InfraError(fmt::format("--changed-since: cannot read trees: {}", last_error()));
  }
  TreePtr old_tree(raw_old), new_tree(raw_new);
  git_diff* raw_diff = nullptr;
  if (git_diff_tree_to_tree(&raw_diff, repo.get(), old_tree.get(), new_tree.get(), nullptr) != 0) {
    throw InfraError(fmt::format("--changed-since: diff failed: {}", last_error()));
  }
  DiffPtr diff(raw_diff);
  git_diff_find_options find;
  git_diff_find_options_init(&find, GIT_DIFF_FIND_OPTIONS_VERSION);
  find.flags = GIT_DIFF_FIND_RENAMES;
  git_diff_find_similar(diff.get(), &find);
  std::set<std::string> files;
  for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
    const git_diff_delta* delta = git_diff_get_delta(diff.get(), i);
    if (delta->old_file.path) files.insert(delta->old_file.path);
    if (delta->new_file.path) files.insert(delta->new_file.path);
  }
  return Changes{oid_hex(&merge_base), oid_hex(git_commit_id(head.get())), {files.begin(), files.end()}};
}

}  // namespace gate::git

#include "git/commits.h"

#include <fmt/format.h>

#include "core/error.h"
#include "git/libgit2.h"

namespace gate::git {

using namespace detail;

namespace {

RepositoryPtr open_repository(const std::filesystem::path& inside) {
  ensure_initialised();
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, inside.c_str(), 0, nullptr) != 0) {
    throw InfraError(fmt::format("{} is not inside a git repository: {}", inside.string(), last_error()));
  }
  return RepositoryPtr(raw);
}

CommitPtr lookup(git_repository* repo, const std::string& rev, const std::filesystem::path& inside) {
  git_object* object = nullptr;
  if (git_revparse_single(&object, repo, rev.c_str()) != 0) {
    throw UsageError(
        fmt::format("'{}' names no commit in the repository of {} ({})", rev, inside.string(), last_error()));
  }
  ObjectPtr owned(object);
  git_object* commit = nullptr;
  if (git_object_peel(&commit, owned.get(), GIT_OBJECT_COMMIT) != 0) {
    throw UsageError(fmt::format("'{}' is not a commit in the repository of {}", rev, inside.string()));
  }
  return CommitPtr(reinterpret_cast<git_commit*>(commit));
}

Commit describe(const git_commit* commit) {
  const char* summary = git_commit_summary(const_cast<git_commit*>(commit));
  return {oid_hex(git_commit_id(commit)), summary ? summary : ""};
}

}  // namespace

Commit resolve_commit(const std::filesystem::path& inside, const std::string& rev) {
  RepositoryPtr repo = open_repository(inside);
  return describe(lookup(repo.get(), rev, inside).get());
}

std::vector<Commit> first_parent_range(const std::filesystem::path& inside, const std::string& good,
                                       const std::string& bad) {
  RepositoryPtr repo = open_repository(inside);
  CommitPtr from = lookup(repo.get(), good, inside);
  CommitPtr to = lookup(repo.get(), bad, inside);
  const git_oid* stop = git_commit_id(from.get());
  std::vector<Commit> newest_first;
  CommitPtr at = std::move(to);
  while (!git_oid_equal(git_commit_id(at.get()), stop)) {
    newest_first.push_back(describe(at.get()));
    git_commit* parent = nullptr;
    if (git_commit_parentcount(at.get()) == 0 || git_commit_parent(&parent, at.get(), 0) != 0) {
      throw UsageError(fmt::format("{} is not an ancestor of {} along first parents in the repository of {}", good, bad,
                                   inside.string()));
    }
    at.reset(parent);
  }
  return {newest_first.rbegin(), newest_first.rend()};
}

std::filesystem::path path_in_repository(const std::filesystem::path& inside) {
  RepositoryPtr repo = open_repository(inside);
  const char* workdir = git_repository_workdir(repo.get());
  if (!workdir) throw InfraError(fmt::format("the repository of {} has no working tree", inside.string()));
  auto relative =
      std::filesystem::weakly_canonical(inside).lexically_relative(std::filesystem::weakly_canonical(workdir));
  return relative.empty() ? std::filesystem::path(".") : relative;
}

void export_commit(const std::filesystem::path& inside, const std::string& commit,
                   const std::filesystem::path& directory) {
  RepositoryPtr repo = open_repository(inside);
  CommitPtr target = lookup(repo.get(), commit, inside);
  std::filesystem::create_directories(directory);
  git_checkout_options options;
  git_checkout_options_init(&options, GIT_CHECKOUT_OPTIONS_VERSION);
  // Into another directory, every file written, the repository's own index
  // and working tree left as they are.
  options.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
  const std::string target_directory = directory.string();
  options.target_directory = target_directory.c_str();
  if (git_checkout_tree(repo.get(), reinterpret_cast<git_object*>(target.get()), &options) != 0) {
    throw InfraError(fmt::format("writing the files of {} into {}: {}", commit, directory.string(), last_error()));
  }
}

}  // namespace gate::git

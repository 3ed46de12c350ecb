#pragma once
// Consumer checkouts with libgit2 (only checkout.cpp includes it).
//
// Layout under the cache directory:
//   mirrors/<name>-<hash of url>.git   bare mirror, updated by incremental fetch
//   worktrees/<name>/                  files of the requested commit, laid anew each run
#include <filesystem>
#include <optional>
#include <string>

namespace gate::git {

struct CheckoutRequest {
  std::string name;  // the consumer's name, for messages and paths
  std::string url;   // URL or absolute local path
  std::string ref;   // branch, tag, full or abbreviated commit, refs/...; empty = default branch
  std::filesystem::path cache_dir;
};

struct Checkout {
  std::string commit;  // full hex id of the commit checked out
  std::filesystem::path worktree;
};

// Throws InfraError naming the consumer, URL and ref; Interrupted on Ctrl-C.
Checkout checkout(const CheckoutRequest& request);

// The commit HEAD points to in the repository containing `path`, if any.
std::optional<std::string> head_commit(const std::filesystem::path& path);

// Default cache directory: $XDG_CACHE_HOME/gate, else ~/.cache/gate.
std::filesystem::path default_cache_dir();

}  // namespace gate::git

#pragma once
// Consumer checkouts: a bare mirror per repository URL in a cache directory,
// holding only the refs runs asked for (shallow, depth 1), and the requested
// commit's files laid out in a persistent worktree that this run holds alone
// and that is updated in place. libgit2 is used only inside gate/git.
//
// Layout under the cache directory:
//   mirrors/<name>-<hash of url>.git   bare mirror, one lock file beside it
//   trees/<name>-<hash of url>/<n>/    worktree slots (see git/worktree.h)
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gate::git {

struct CheckoutRequest {
  std::string name;  // the consumer's name, for messages and paths
  std::string url;   // URL (git://, http(s)://, ssh, file://) or absolute local path
  std::string ref;   // branch, tag, full or abbreviated commit, refs/...; empty = default branch
  std::filesystem::path cache_dir;
  std::string token_env;  // environment variable with an access token, if any
  std::string token_user = "x-access-token";
  bool submodules = false;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};  // per fetch
};

struct Submodule {
  std::string path;
  std::string url;
  std::string commit;
};

struct Checkout {
  std::string commit;  // full hex id of the commit checked out
  std::filesystem::path worktree;
  std::shared_ptr<void> slot;  // holds the worktree for this run until released
  size_t files_written = 0;    // by this checkout (the rest were left as they were)
  std::vector<Submodule> submodules;
  CheckoutRequest request;  // what was asked for (fresh_worktree lays it out again)
};

// Throws InfraError naming the consumer, URL and ref; Interrupted on Ctrl-C.
Checkout checkout(const CheckoutRequest& request);

// The remote's tag names (one round trip, nothing fetched); InfraError as
// checkout's.
std::vector<std::string> remote_tags(const CheckoutRequest& request);

// Another worktree of the same commit, from the mirror as it is (no fetch):
// a pristine copy, for a rerun that must not see what the first run left.
Checkout fresh_worktree(const Checkout& of);

// Lets another run take the worktree (its files stay, cleaned by the next
// run that lays a commit out there).
void release_worktree(Checkout& checkout);

// The program run as `PROGRAM __fetch ...` for fetches (the gate binary).
void set_fetch_program(std::filesystem::path program);

// The commit HEAD points to in the repository containing `path`, if any.
std::optional<std::string> head_commit(const std::filesystem::path& path);

// Default cache directory: $XDG_CACHE_HOME/gate, else ~/.cache/gate.
std::filesystem::path default_cache_dir();

}  // namespace gate::git

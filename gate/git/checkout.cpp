#include "git/checkout.h"

#include <fcntl.h>
#include <git2.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <memory>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "registry/digest.h"

namespace gate::git {
namespace {

void ensure_initialised() {
  static const int initialised = git_libgit2_init();
  (void)initialised;
}

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using RepositoryPtr = std::unique_ptr<git_repository, Deleter<git_repository, git_repository_free>>;
using RemotePtr = std::unique_ptr<git_remote, Deleter<git_remote, git_remote_free>>;
using ObjectPtr = std::unique_ptr<git_object, Deleter<git_object, git_object_free>>;
using ReferencePtr = std::unique_ptr<git_reference, Deleter<git_reference, git_reference_free>>;

std::string last_error() {
  const git_error* error = git_error_last();
  return error && error->message ? error->message : "unknown libgit2 error";
}

// An exclusive advisory lock on the mirror, so two gates sharing a cache
// never fetch into the same repository at once.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path) {
    fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0) throw InfraError(fmt::format("cannot open lock {}: {}", path.string(), std::strerror(errno)));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) throw InfraError(fmt::format("cannot lock {}: {}", path.string(), std::strerror(errno)));
      interrupt::throw_if_requested();
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }

 private:
  int fd_ = -1;
};

int on_transfer(const git_indexer_progress*, void*) { return interrupt::requested() ? -1 : 0; }
int on_sideband(const char*, int, void*) { return interrupt::requested() ? -1 : 0; }

std::string sanitize(std::string_view name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}

}  // namespace

std::filesystem::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "gate";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "gate";
  return std::filesystem::temp_directory_path() / "gate-cache";
}

Checkout checkout(const CheckoutRequest& request) {
  ensure_initialised();
  const std::string ref_text = request.ref.empty() ? "(default branch)" : request.ref;
  auto fail = [&](const std::string& what) -> InfraError {
    return InfraError(fmt::format("checkout of consumer '{}' ({} at {}): {}", request.name,
                                  log::redact(request.url), ref_text, what));
  };

  std::string key = registry::sha256_digest(request.url).substr(7, 12);
  std::filesystem::path mirrors = request.cache_dir / "mirrors";
  std::filesystem::path mirror = mirrors / fmt::format("{}-{}.git", sanitize(request.name), key);
  std::error_code ec;
  std::filesystem::create_directories(mirrors, ec);
  if (ec) throw fail(fmt::format("cannot create cache directory {}: {}", mirrors.string(), ec.message()));
  FileLock lock(mirror.string() + ".lock");

  RepositoryPtr repo;
  {
    git_repository* raw = nullptr;
    if (git_repository_open_bare(&raw, mirror.c_str()) != 0) {
      if (std::filesystem::exists(mirror)) {
        log::warn(fmt::format("cache mirror {} is unreadable ({}); discarding it", mirror.string(), last_error()));
        std::filesystem::remove_all(mirror, ec);
      }
      if (git_repository_init(&raw, mirror.c_str(), /*is_bare=*/1) != 0) {
        throw fail(fmt::format("cannot create mirror {}: {}", mirror.string(), last_error()));
      }
    }
    repo.reset(raw);
  }

  RemotePtr remote;
  {
    git_remote* raw = nullptr;
    if (git_remote_lookup(&raw, repo.get(), "origin") != 0) {
      if (git_remote_create_with_fetchspec(&raw, repo.get(), "origin", request.url.c_str(), "+refs/*:refs/*") != 0) {
        throw fail(fmt::format("cannot configure remote: {}", last_error()));
      }
    }
    remote.reset(raw);
  }

  git_fetch_options fetch_options;
  git_fetch_options_init(&fetch_options, GIT_FETCH_OPTIONS_VERSION);
  fetch_options.prune = GIT_FETCH_PRUNE;
  fetch_options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
  fetch_options.callbacks.transfer_progress = on_transfer;
  fetch_options.callbacks.sideband_progress = on_sideband;

  std::string ref = request.ref;
  if (ref.empty()) {
    // The remote's default branch is only known while connected.
    if (git_remote_connect(remote.get(), GIT_DIRECTION_FETCH, &fetch_options.callbacks, nullptr, nullptr) != 0) {
      interrupt::throw_if_requested();
      throw fail(fmt::format("cannot reach the repository: {}", last_error()));
    }
    git_buf branch = GIT_BUF_INIT;
    if (git_remote_default_branch(&branch, remote.get()) == 0) {
      ref = branch.ptr;
      git_buf_dispose(&branch);
    }
    git_remote_disconnect(remote.get());
    if (ref.empty()) throw fail("the repository has no default branch; set ref");
  }

  if (git_remote_fetch(remote.get(), nullptr, &fetch_options, "gate: fetch") != 0) {
    interrupt::throw_if_requested();
    throw fail(fmt::format("fetch failed: {}", last_error()));
  }

  // Resolve: branch, tag, full ref name, then any revision (full or abbreviated commit).
  ObjectPtr target;
  for (const std::string& candidate :
       {"refs/heads/" + ref, "refs/tags/" + ref, ref.rfind("refs/", 0) == 0 ? ref : std::string(), ref}) {
    if (candidate.empty()) continue;
    git_object* raw = nullptr;
    if (git_revparse_single(&raw, repo.get(), candidate.c_str()) == 0) {
      git_object* commit = nullptr;
      int peeled = git_object_peel(&commit, raw, GIT_OBJECT_COMMIT);
      git_object_free(raw);
      if (peeled == 0) {
        target.reset(commit);
        break;
      }
    }
  }
  if (!target) throw fail(fmt::format("ref '{}' not found (no such branch, tag or commit)", ref));

  Checkout result;
  char hex[GIT_OID_HEXSZ + 1] = {0};
  git_oid_tostr(hex, sizeof hex, git_object_id(target.get()));
  result.commit = hex;
  result.worktree = request.cache_dir / "worktrees" / sanitize(request.name);
  std::filesystem::remove_all(result.worktree, ec);
  std::filesystem::create_directories(result.worktree, ec);
  if (ec) throw fail(fmt::format("cannot create worktree {}: {}", result.worktree.string(), ec.message()));

  git_checkout_options checkout_options;
  git_checkout_options_init(&checkout_options, GIT_CHECKOUT_OPTIONS_VERSION);
  checkout_options.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
  std::string target_dir = result.worktree.string();
  checkout_options.target_directory = target_dir.c_str();
  if (git_checkout_tree(repo.get(), target.get(), &checkout_options) != 0) {
    throw fail(fmt::format("checkout into {} failed: {}", target_dir, last_error()));
  }
  return result;
}

std::optional<std::string> head_commit(const std::filesystem::path& path) {
  ensure_initialised();
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, path.c_str(), 0, nullptr) != 0) return std::nullopt;
  RepositoryPtr repo(raw);
  git_oid oid;
  if (git_reference_name_to_id(&oid, repo.get(), "HEAD") != 0) return std::nullopt;
  char hex[GIT_OID_HEXSZ + 1] = {0};
  git_oid_tostr(hex, sizeof hex, &oid);
  return std::string(hex);
}

}  // namespace gate::git

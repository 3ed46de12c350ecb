#include "git/checkout.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "git/libgit2.h"
#include "git/mirror.h"
#include "git/worktree.h"
#include "process/runner.h"
#include "registry/digest.h"

namespace gate::git {
namespace {

using namespace detail;

std::filesystem::path g_fetch_program = "/proc/self/exe";

std::atomic<int> g_worktree_counter{0};

std::string sanitize(std::string_view name) {
  std::string out;
  for (char c : name)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}

// A password in a URL's userinfo ("https://user:secret@host/...") is a secret.
void register_url_secret(const std::string& url) {
  UrlUserinfo parts = split_userinfo(url);
  if (parts.password.empty()) return;
  log::add_secret(parts.password);
  // As written in the URL, which may be percent-encoded differently.
  const size_t from = url.find("://") + 3, at = url.find('@', from);
  const std::string userinfo = url.substr(from, at - from);
  log::add_secret(userinfo.substr(userinfo.find(':') + 1));
}

// Keyed by the URL without its userinfo: a rotated token keeps the cache,
// and nothing on disk is derived from the secret.
std::string url_key(const std::string& url) { return registry::sha256_digest(split_userinfo(url).url).substr(7, 12); }

// One mirror for every version of a consumer ("emucli@v2.0" shares emucli's).
std::filesystem::path mirror_path(const std::filesystem::path& cache_dir, const std::string& name,
                                  const std::string& url) {
  return cache_dir / "mirrors" / fmt::format("{}-{}.git", sanitize(name.substr(0, name.find('@'))), url_key(url));
}

// A fetch killed mid-transfer leaves the pack it was receiving, under a
// temporary name libgit2 would have renamed at the end.
void remove_partial_packs(const std::filesystem::path& mirror) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(mirror / "objects" / "pack", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("pack_git2_", 0) == 0 || name.rfind("tmp_", 0) == 0) std::filesystem::remove(entry.path(), ec);
  }
}

// A repository on this machine (a path or file://): no server to stall.
bool is_local(const std::string& url) { return url.rfind('/', 0) == 0 || url.rfind("file://", 0) == 0; }

// glibc's malloc in transparent huge pages (where the kernel offers them on
// request), for the fetch child: libgit2's indexer fills ~18 MB of heap with
// its delta-base cache and inflate streams, first touched one 4 KiB page
// fault at a time, and page faults are dear on a VM. Measured on a 5,000-file
// pack (perf stat, 3 alternating pairs): page faults 4,600 -> 1,400, CPU
// 326-437 -> 302-366 ms. Where the kernel's THP defrag setting compacts
// memory on such a fault, that is ~9 faults for 18 MB, not thousands. Only
// for a mirror not made yet (a cold fetch, a whole tree's pack): the first
// huge page costs a warm fetch that finds nothing new ~3 ms (idle checkout,
// 40 alternating pairs: 80.9 -> 84.2 ms median). Read by the dynamic loader
// at the child's start; a user's own setting of it is kept.
void with_huge_pages_for_malloc(process::Environment& env) {
  constexpr std::string_view kTunable = "glibc.malloc.hugetlb";
  std::string& tunables = env["GLIBC_TUNABLES"];
  if (tunables.find(kTunable) != std::string::npos) return;
  tunables += fmt::format("{}{}=1", tunables.empty() ? "" : ":", kTunable);
}

// One fetch in the `gate __fetch` child, killed at the deadline: its exit
// status and its answer, read from its output.
FetchStatus fetch_in_child(const CheckoutRequest& request, const FetchRequest& fetch, FetchAnswer& answer,
                           const std::string& what) {
  process::Spec spec;
  spec.argv = {g_fetch_program.string(), "__fetch", "--mirror", fetch.mirror.string(), "--url", fetch.url};
  if (!fetch.password.empty()) {
    spec.argv.push_back("--credentials-stdin");
    spec.input = fetch.user + "\n" + fetch.password + "\n";
  }
  spec.env = process::current_environment();
  if (!request.token_env.empty()) spec.env->erase(request.token_env);
  spec.env->erase("GATE_REGISTRY_PASSWORD");
  if (!std::filesystem::exists(fetch.mirror)) with_huge_pages_for_malloc(*spec.env);
  if (!fetch.ref.empty()) spec.argv.insert(spec.argv.end(), {"--ref", fetch.ref});
  if (fetch.list_tags) spec.argv.push_back("--list-tags");
  spec.timeout = request.timeout;
  spec.grace = std::chrono::seconds(1);
  spec.on_line = [&](std::string_view line) {
    if (line.rfind("resolved ", 0) == 0)
      answer.resolved = line.substr(9);
    else if (fetch.list_tags && line.rfind("tag ", 0) == 0)
      answer.tags.emplace_back(line.substr(4));
    else if (fetch.list_tags && line == "listed")
      answer.listed = true;
    else if (!line.empty())
      answer.problem = line;
  };
  auto result = process::run(spec);
  if (result.interrupted) throw Interrupted();
  if (result.timed_out) {
    remove_partial_packs(fetch.mirror);
    throw InfraError(
        fmt::format("{}: no answer within {}s (server stalled or unreachable); "
                    "the fetch was stopped",
                    what, std::chrono::duration_cast<std::chrono::seconds>(request.timeout).count()));
  }
  if (answer.problem.empty() && !result.ok()) answer.problem = result.describe();
  return static_cast<FetchStatus>(result.signal == 0 ? result.exit_code : 3);
}

// Fetches `ref` into the mirror. Returns the revision to check out (an object
// id, or the commit id asked for). With `tags`, fetches nothing and lists
// the remote's tags there instead.
std::string update_mirror(const CheckoutRequest& request, const std::string& url, const std::filesystem::path& mirror,
                          const std::string& ref, const std::string& what, std::vector<std::string>* tags = nullptr) {
  UrlUserinfo parts = split_userinfo(url);
  FetchRequest fetch{mirror, parts.url, parts.user, parts.password, ref, tags != nullptr};
  if (fetch.password.empty() && !request.token_env.empty()) {
    if (const char* token = std::getenv(request.token_env.c_str())) {
      fetch.user = request.token_user;
      fetch.password = token;
    }
  }
  for (int attempt = 1;; ++attempt) {
    FetchAnswer answer;
    // A warm mirror of a repository on this machine: fetched here, a child's
    // start (most of such a fetch's time) saved; everything else in the child.
    const bool here = is_local(fetch.url) && fetch.password.empty() && std::filesystem::exists(mirror);
    const FetchStatus status = here ? fetch_mirror(fetch, answer) : fetch_in_child(request, fetch, answer, what);
    if (status == FetchStatus::ok && tags && answer.listed) {
      *tags = std::move(answer.tags);
      return "listed";
    }
    if (status == FetchStatus::ok && !answer.resolved.empty()) return answer.resolved;
    if (status == FetchStatus::corrupt && attempt == 1) {
      log::warn(fmt::format("{}: the cached mirror {} is damaged ({}); discarding it and cloning again", what,
                            mirror.string(), log::redact(answer.problem)));
      std::error_code ec;
      std::filesystem::remove_all(mirror, ec);
      continue;
    }
    if (status == FetchStatus::rejected) {
      throw InfraError(fmt::format(
          "{}: the server refused {} (asked once, not retried)", what,
          parts.password.empty() ? "the token from $" + request.token_env : std::string("the credentials in the URL")));
    }
    throw InfraError(
        fmt::format("{}: {}", what, log::redact(answer.problem.empty() ? "the fetch failed" : answer.problem)));
  }
}

RepositoryPtr open_mirror(const std::filesystem::path& mirror, const std::string& what) {
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, mirror.c_str()) != 0) {
    throw InfraError(fmt::format("{}: cannot open mirror {}: {}", what, mirror.string(), last_error()));
  }
  return RepositoryPtr(raw);
}

// Branch, tag, full ref name, then any revision (full or abbreviated commit).
ObjectPtr resolve(git_repository* repo, const std::string& ref) {
  for (const std::string& candidate :
       {"refs/heads/" + ref, "refs/tags/" + ref, ref.rfind("refs/", 0) == 0 ? ref : std::string(), ref}) {
    if (candidate.empty()) continue;
    git_object* raw = nullptr;
    if (git_revparse_single(&raw, repo, candidate.c_str()) != 0) continue;
    ObjectPtr object(raw);
    git_object* commit = nullptr;
    if (git_object_peel(&commit, object.get(), GIT_OBJECT_COMMIT) == 0) return ObjectPtr(commit);
  }
  return nullptr;
}

// "../lib.git" relative to "git://host/org/app.git" is "git://host/org/lib.git".
std::string resolve_submodule_url(const std::string& parent, const std::string& url) {
  if (url.rfind("./", 0) != 0 && url.rfind("../", 0) != 0) return url;
  std::string base = parent;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string rest = url;
  while (true) {
    if (rest.rfind("./", 0) == 0) {
      rest = rest.substr(2);
    } else if (rest.rfind("../", 0) == 0) {
      rest = rest.substr(3);
      auto slash = base.rfind('/');
      if (slash != std::string::npos) base.resize(slash);
    } else {
      break;
    }
  }
  return base + "/" + rest;
}

struct ConfigEntries {
  std::vector<std::pair<std::string, std::string>> entries;
};

int collect_entry(const git_config_entry* entry, void* payload) {
  static_cast<ConfigEntries*>(payload)->entries.emplace_back(entry->name, entry->value);
  return 0;
}

// The submodules' mirrors, open and locked until their files are laid out.
struct SubmoduleMirrors {
  // By mirror: two submodules of one URL take its lock once (a second
  // flock of this process would wait for itself).
  std::map<std::filesystem::path, std::unique_ptr<FileLock>> locks;
  std::vector<RepositoryPtr> repos;
  std::vector<ObjectPtr> commits;
};

// Adds the files of `commit`'s submodules (fetched into mirrors of their own
// when the mirror lacks the pinned commit) to `entries`, recursively.
void list_submodules(const CheckoutRequest& request, git_repository* repo, git_object* commit,
                     const std::string& parent_url, const std::string& prefix, int depth,
                     std::vector<TreeEntry>& entries, std::vector<Submodule>& out, SubmoduleMirrors& open) {
  const std::string what = fmt::format("checkout of consumer '{}' submodules", request.name);
  if (depth > 8) throw InfraError(what + ": nested more than 8 levels");
  git_tree* raw_tree = nullptr;
  if (git_commit_tree(&raw_tree, reinterpret_cast<git_commit*>(commit)) != 0) {
    throw InfraError(fmt::format("{}: {}", what, last_error()));
  }
  TreePtr tree(raw_tree);
  git_tree_entry* raw_entry = nullptr;
  if (git_tree_entry_bypath(&raw_entry, tree.get(), ".gitmodules") != 0) return;  // none
  TreeEntryPtr gitmodules(raw_entry);
  git_object* raw_blob = nullptr;
  if (git_tree_entry_to_object(&raw_blob, repo, gitmodules.get()) != 0) throw InfraError(what + ": " + last_error());
  ObjectPtr blob(raw_blob);
  // libgit2 reads config files from disk: the blob goes through a temporary file.
  auto temp =
      std::filesystem::temp_directory_path() / fmt::format("gate-gitmodules-{}-{}", ::getpid(), g_worktree_counter++);
  {
    std::ofstream file(temp, std::ios::binary);
    auto* b = reinterpret_cast<git_blob*>(blob.get());
    file.write(static_cast<const char*>(git_blob_rawcontent(b)), static_cast<std::streamsize>(git_blob_rawsize(b)));
  }
  git_config* raw_config = nullptr;
  int opened = git_config_open_ondisk(&raw_config, temp.c_str());
  ConfigEntries entries_in_file;
  if (opened == 0) {
    ConfigPtr config(raw_config);
    git_config_foreach_match(config.get(), "^submodule\\..*\\.(path|url)$", collect_entry, &entries_in_file);
  }
  std::filesystem::remove(temp);
  if (opened != 0) throw InfraError(fmt::format("{}: .gitmodules is unreadable: {}", what, last_error()));

  std::map<std::string, std::pair<std::string, std::string>> by_name;  // name -> (path, url)
  for (const auto& [key, value] : entries_in_file.entries) {
    auto last_dot = key.rfind('.');
    std::string name = key.substr(10, last_dot - 10);  // after "submodule."
    (key.substr(last_dot + 1) == "path" ? by_name[name].first : by_name[name].second) = value;
  }
  for (const auto& [name, path_url] : by_name) {
    const auto& [path, relative_url] = path_url;
    if (path.empty() || relative_url.empty()) continue;
    git_tree_entry* raw_link = nullptr;
    if (git_tree_entry_bypath(&raw_link, tree.get(), path.c_str()) != 0) continue;  // declared but not in the tree
    TreeEntryPtr link(raw_link);
    if (git_tree_entry_filemode(link.get()) != GIT_FILEMODE_COMMIT) continue;
    Submodule sub{prefix + path, resolve_submodule_url(parent_url, relative_url),
                  oid_hex(git_tree_entry_id(link.get()))};
    register_url_secret(sub.url);
    std::string sub_what = fmt::format("checkout of consumer '{}' submodule {} ({} at {})", request.name, sub.path,
                                       log::redact(sub.url), sub.commit);
    auto mirror = mirror_path(request.cache_dir, request.name + "-sub", sub.url);
    if (!open.locks.count(mirror)) open.locks.emplace(mirror, std::make_unique<FileLock>(mirror.string() + ".lock"));
    RepositoryPtr sub_repo;
    ObjectPtr sub_commit;
    // Fetch only when the mirror lacks the commit: pinned submodules rarely move.
    if (std::filesystem::exists(mirror)) {
      sub_repo = open_mirror(mirror, sub_what);
      sub_commit = resolve(sub_repo.get(), sub.commit);
    }
    if (!sub_commit) {
      sub_repo.reset();
      update_mirror(request, sub.url, mirror, sub.commit, sub_what);
      sub_repo = open_mirror(mirror, sub_what);
      sub_commit = resolve(sub_repo.get(), sub.commit);
      if (!sub_commit) throw InfraError(fmt::format("{}: the commit is not in the submodule's repository", sub_what));
    }
    list_tree(sub_repo.get(), sub_commit.get(), sub.path + "/", sub_what, entries);
    out.push_back(sub);
    list_submodules(request, sub_repo.get(), sub_commit.get(), sub.url, sub.path + "/", depth + 1, entries, out, open);
    open.repos.push_back(std::move(sub_repo));
    open.commits.push_back(std::move(sub_commit));
  }
}

// Worktrees per version: each stays warm at its own commit.
std::filesystem::path trees_dir(const CheckoutRequest& request) {
  return request.cache_dir / "trees" / fmt::format("{}-{}", sanitize(request.name), url_key(request.url));
}

// Lays `commit` (and its submodules, when asked for) out in `slot`, a
// worktree of this run's own.
void lay_out(const CheckoutRequest& request, git_repository* repo, git_object* commit, const std::string& what,
             std::shared_ptr<WorktreeSlot> slot, Checkout& result) {
  result.worktree = slot->path();
  // The slot's files are one tree's, named by it, only without submodules
  // (theirs come from other repositories).
  const std::string tree =
      request.submodules ? std::string() : oid_hex(git_commit_tree_id(reinterpret_cast<git_commit*>(commit)));
  if (!slot->holds(tree)) {
    std::vector<TreeEntry> entries;
    list_tree(repo, commit, "", what, entries);
    SubmoduleMirrors submodules;
    if (request.submodules)
      list_submodules(request, repo, commit, request.url, "", 1, entries, result.submodules, submodules);
    result.files_written = slot->lay_out(entries, tree, what);
  }
  result.slot = std::move(slot);
}

}  // namespace

void set_fetch_program(std::filesystem::path program) { g_fetch_program = std::move(program); }

std::filesystem::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "gate";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "gate";
  return std::filesystem::temp_directory_path() / "gate-cache";
}

Checkout checkout(const CheckoutRequest& request) {
  ensure_initialised();
  register_url_secret(request.url);
  const std::string what = fmt::format("checkout of consumer '{}' ({} at {})", request.name, log::redact(request.url),
                                       request.ref.empty() ? "its default branch" : request.ref);
  std::error_code ec;
  std::filesystem::create_directories(request.cache_dir / "mirrors", ec);
  if (ec)
    throw InfraError(
        fmt::format("{}: cannot create cache directory {}: {}", what, request.cache_dir.string(), ec.message()));

  const auto mirror = mirror_path(request.cache_dir, request.name, request.url);
  FileLock lock(mirror.string() + ".lock");
  auto slot = WorktreeSlot::acquire(trees_dir(request));
  for (int attempt = 1;; ++attempt) {
    // A full commit id the mirror has needs no server: commits never change.
    std::string revision = request.ref;
    ObjectPtr target;
    RepositoryPtr repo;
    if (revision.size() == GIT_OID_HEXSZ && std::filesystem::exists(mirror)) {
      repo = open_mirror(mirror, what);
      target = resolve(repo.get(), revision);
    }
    if (!target) {
      repo.reset();
      // The server's answer takes a round trip or more: the worktree is
      // scanned meanwhile, the slow part of a warm checkout.
      auto fetched = std::async(std::launch::async,
                                [&] { return update_mirror(request, request.url, mirror, request.ref, what); });
      slot->scan();
      revision = fetched.get();
    }
    Checkout result;
    result.request = request;
    try {
      if (!repo) repo = open_mirror(mirror, what);
      if (!target) target = resolve(repo.get(), revision);
      if (!target) {
        int klass = last_error_class();
        if (klass == GIT_ERROR_ODB || klass == GIT_ERROR_ZLIB || klass == GIT_ERROR_OBJECT)
          throw DamagedMirror(fmt::format("{}: cannot read '{}': {}", what, revision, last_error()));
        throw InfraError(fmt::format("{}: ref '{}' not found (no such branch, tag or commit)", what, request.ref));
      }
      result.commit = oid_hex(git_object_id(target.get()));
      lay_out(request, repo.get(), target.get(), what, slot, result);
      return result;
    } catch (const DamagedMirror& e) {
      release_worktree(result);
      if (attempt > 1) throw;
      log::warn(fmt::format("{}; the cached mirror {} is damaged: discarding it and cloning again", e.what(),
                            mirror.string()));
      std::filesystem::remove_all(mirror, ec);
    }
  }
}

std::vector<std::string> remote_tags(const CheckoutRequest& request) {
  ensure_initialised();
  register_url_secret(request.url);
  const std::string what =
      fmt::format("listing the tags of consumer '{}' ({})", request.name, log::redact(request.url));
  std::error_code ec;
  std::filesystem::create_directories(request.cache_dir / "mirrors", ec);
  const auto mirror = mirror_path(request.cache_dir, request.name, request.url);
  FileLock lock(mirror.string() + ".lock");
  std::vector<std::string> tags;
  update_mirror(request, request.url, mirror, "", what, &tags);
  return tags;
}

Checkout fresh_worktree(const Checkout& of) {
  ensure_initialised();
  const CheckoutRequest& request = of.request;
  const std::string what = fmt::format("second worktree of consumer '{}' at {}", request.name, of.commit);
  const auto mirror = mirror_path(request.cache_dir, request.name, request.url);
  Checkout result;
  result.request = request;
  result.commit = of.commit;
  FileLock lock(mirror.string() + ".lock");
  RepositoryPtr repo = open_mirror(mirror, what);
  ObjectPtr target = resolve(repo.get(), of.commit);
  if (!target) throw InfraError(fmt::format("{}: the commit is no longer in the mirror: {}", what, last_error()));
  lay_out(request, repo.get(), target.get(), what, WorktreeSlot::acquire(trees_dir(request)), result);
  return result;
}

void release_worktree(Checkout& checkout) { checkout.slot.reset(); }

std::optional<std::string> head_commit(const std::filesystem::path& path) {
  ensure_initialised();
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, path.c_str(), 0, nullptr) != 0) return std::nullopt;
  RepositoryPtr repo(raw);
  git_oid oid;
  if (git_reference_name_to_id(&oid, repo.get(), "HEAD") != 0) return std::nullopt;
  return oid_hex(&oid);
}

}  // namespace gate::git

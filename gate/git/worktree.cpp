#include "git/worktree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "core/interrupt.h"
#include "git/tree_manifest.h"

namespace gate::git::detail {
namespace {

constexpr int kMaxSlots = 256;

Recorded record(const TreeEntry& entry, const FileStat& stat) {
  return Recorded{entry.oid, static_cast<unsigned>(entry.mode), stat};
}

// remove_all, also through directories a run made unwritable or unreadable.
void remove_tree(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (!ec) return;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
  }
  ::chmod(path.c_str(), 0700);
  std::filesystem::remove_all(path, ec);
  if (ec) throw InfraError(fmt::format("cannot remove {} from a cached worktree: {}", path.string(), ec.message()));
}

bool is_directory(git_filemode_t mode) { return mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT; }

// Every path under the root, pre-order, as lstat saw it. False when the
// directory itself could not be listed: what it holds is not known.
bool scan_dir(int dir_fd, const std::string& rel, std::vector<ScannedPath>& out) {
  DIR* handle = ::fdopendir(::dup(dir_fd));
  if (!handle) return false;
  std::vector<std::string> names;
  while (dirent* d = ::readdir(handle)) {
    if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0) names.emplace_back(d->d_name);
  }
  ::closedir(handle);
  for (auto& name : names) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    out.push_back(ScannedPath{rel.empty() ? name : rel + "/" + name, file_stat(st)});
    if (!S_ISDIR(st.st_mode)) continue;
    int sub = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      out.back().unreadable = true;
      continue;
    }
    const size_t at = out.size() - 1;
    const std::string dir_path = out.back().path;  // `out` grows below: no reference into it
    // Not listed: removed as a whole, never trusted to hold only what it should.
    if (!scan_dir(sub, dir_path, out)) out[at].unreadable = true;
    ::close(sub);
  }
  return true;
}

// Whether `path` still holds the blob `oid` (of tree mode `git_mode`).
bool content_is(const std::filesystem::path& path, const git_oid& oid, unsigned git_mode) {
  git_oid found;
  if (git_mode == GIT_FILEMODE_LINK) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(path, ec).string();
    if (ec || git_odb_hash(&found, target.data(), target.size(), GIT_OBJECT_BLOB) != 0) return false;
  } else if (git_odb_hashfile(&found, path.c_str(), GIT_OBJECT_BLOB) != 0) {
    return false;
  }
  return git_oid_equal(&found, &oid);
}

// A file gate wrote (as `recorded`) and nobody touched since: lstat sees it
// as it was. Changed in the clock tick the manifest was saved in, a change
// would not show in the times: such a file is trusted only if its content is
// still the blob's (as git does with "racily clean" index entries).
bool untouched_since(const std::filesystem::path& path, const Recorded& recorded, const FileStat& now,
                     int64_t manifest_written_at) {
  if (recorded.stat != now) return false;
  return now.ctime < manifest_written_at || content_is(path, recorded.oid, recorded.git_mode);
}

// Decides, from a scan and the manifest, what stays: files gate wrote and
// nobody touched since. Everything else goes (or, for directories whose
// mode a run changed, gets its recorded mode back).
class Layout {
 public:
  Layout(const std::filesystem::path& root, const std::vector<TreeEntry>& entries, Manifest manifest,
         std::filesystem::path manifest_file, std::string what)
      : root_(root), manifest_file_(std::move(manifest_file)), manifest_(std::move(manifest)), what_(std::move(what)) {
    target_.reserve(entries.size());
    for (const auto& e : entries) target_.emplace(e.path, &e);
  }

  void clean(const std::vector<ScannedPath>& scanned) {
    std::string removed;  // the last directory removed: its entries went with it
    for (const auto& entry : scanned) {
      if (!removed.empty() && entry.path.size() > removed.size() && entry.path[removed.size()] == '/' &&
          entry.path.compare(0, removed.size(), removed) == 0)
        continue;
      auto wanted = target_.find(entry.path);
      const bool dir = S_ISDIR(entry.stat.mode);
      if (wanted == target_.end() || is_directory(wanted->second->mode) != dir || entry.unreadable) {
        remove(entry.path);
        if (dir) removed = entry.path;
      } else if (dir) {
        auto rec = manifest_.entries.find(entry.path);
        if (rec != manifest_.entries.end() && rec->second.stat.mode != entry.stat.mode) {
          changing();
          ::chmod((root_ / entry.path).c_str(), rec->second.stat.mode & 07777);
        }
      } else if (untouched(*wanted->second, entry.stat)) {
        kept_.emplace(entry.path, record(*wanted->second, entry.stat));
      } else {
        remove(entry.path);
      }
    }
  }

  // Called before the slot's first change: from then on, until the new
  // manifest is saved, the slot holds no manifest, so a run killed half-way
  // leaves a slot that the next run wipes rather than trusts.
  void changing() {
    if (changed_) return;
    changed_ = true;
    std::filesystem::remove(manifest_file_);
  }
  bool changed() const { return changed_; }
  std::unordered_map<std::string, Recorded>& kept() { return kept_; }

 private:
  bool untouched(const TreeEntry& entry, const FileStat& now) const {
    auto it = manifest_.entries.find(entry.path);
    if (it == manifest_.entries.end()) return false;
    const Recorded& r = it->second;
    return git_oid_equal(&r.oid, &entry.oid) && r.git_mode == static_cast<unsigned>(entry.mode) &&
           untouched_since(root_ / entry.path, r, now, manifest_.written_at);
  }

  void remove(const std::string& rel) {
    changing();
    remove_tree(root_ / rel);
  }

  std::filesystem::path root_;
  std::filesystem::path manifest_file_;
  bool changed_ = false;
  Manifest manifest_;
  std::string what_;
  std::unordered_map<std::string, const TreeEntry*> target_;
  std::unordered_map<std::string, Recorded> kept_;
};

void write_file(const std::filesystem::path& path, const TreeEntry& entry, git_repository* repo) {
  git_blob* raw = nullptr;
  if (git_blob_lookup(&raw, repo, &entry.oid) != 0)
    throw DamagedMirror(fmt::format("cannot read {}: {}", entry.path, last_error()));
  BlobPtr blob(raw);
  const char* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
  auto size = static_cast<size_t>(git_blob_rawsize(blob.get()));
  if (entry.mode == GIT_FILEMODE_LINK) {
    std::filesystem::create_symlink(std::string(data, size), path);
    return;
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  entry.mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
  if (fd < 0) throw InfraError(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw InfraError(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

// The repositories a writer thread reads blobs from: libgit2 handles are
// not shared between threads, so a thread other than the caller opens its
// own on the same directory (a mirror, or a submodule's).
class RepositoryHandles {
 public:
  explicit RepositoryHandles(bool own) : own_(own) {}
  git_repository* operator()(git_repository* shared) {
    if (!own_) return shared;
    auto& handle = handles_[shared];
    if (!handle) {
      git_repository* raw = nullptr;
      if (git_repository_open_bare(&raw, git_repository_path(shared)) != 0)
        throw DamagedMirror(fmt::format("cannot open {}: {}", git_repository_path(shared), last_error()));
      handle.reset(raw);
    }
    return handle.get();
  }

 private:
  bool own_;
  std::unordered_map<git_repository*, RepositoryPtr> handles_;
};

using Written = std::vector<std::pair<std::string, Recorded>>;

// Runs of `files` (in pre-order) in one directory, at most `cap` long: a
// writer thread takes one at a time, so that two threads seldom create
// files in the same directory, whose lock they would contend for.
std::vector<std::pair<size_t, size_t>> runs_by_directory(const std::vector<const TreeEntry*>& files, size_t cap) {
  std::vector<std::pair<size_t, size_t>> runs;
  auto parent = [](const std::string& path) { return std::string_view(path).substr(0, path.rfind('/') + 1); };
  for (size_t begin = 0, i = 1; begin < files.size(); ++i) {
    if (i == files.size() || i - begin == cap || parent(files[i]->path) != parent(files[begin]->path)) {
      runs.emplace_back(begin, i);
      begin = i;
    }
  }
  return runs;
}

// Writes `files` under `root` on up to as many threads as there are cores
// (4 at most): creating thousands of files is most of a cold checkout, and
// the kernel's share of it runs on every core at once. Their directories
// exist already. Returns each file as lstat saw it right after writing.
Written write_files(const std::filesystem::path& root, const std::vector<const TreeEntry*>& files) {
  constexpr size_t kFilesPerWriter = 256;  // fewer: a thread costs more than it saves
  const size_t writers =
      std::clamp<size_t>(std::min<size_t>(std::thread::hardware_concurrency(), files.size() / kFilesPerWriter), 1, 4);
  const auto runs = runs_by_directory(files, 128);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<Written> written(writers);
  std::vector<std::exception_ptr> failures(writers);
  auto work = [&](size_t writer) {
    try {
      RepositoryHandles repository(writer != 0);
      for (size_t run = next++; run < runs.size() && !failed; run = next++) {
        for (size_t i = runs[run].first; i < runs[run].second; ++i) {
          interrupt::throw_if_requested();
          const TreeEntry& entry = *files[i];
          const auto path = root / entry.path;
          write_file(path, entry, repository(entry.repo));
          struct stat st {};
          if (::lstat(path.c_str(), &st) == 0) written[writer].emplace_back(entry.path, record(entry, file_stat(st)));
        }
      }
    } catch (...) {
      failures[writer] = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> threads;
  for (size_t writer = 1; writer < writers; ++writer) threads.emplace_back(work, writer);
  work(0);
  for (auto& thread : threads) thread.join();
  for (auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
  Written all = std::move(written[0]);
  for (size_t writer = 1; writer < writers; ++writer)
    std::move(written[writer].begin(), written[writer].end(), std::back_inserter(all));
  return all;
}

struct ListState {
  git_repository* repo;
  std::string prefix;
  std::vector<TreeEntry>* out;
};

int on_tree_entry(const char* root, const git_tree_entry* entry, void* payload) {
  auto* state = static_cast<ListState*>(payload);
  TreeEntry e;
  e.path = state->prefix + root + git_tree_entry_name(entry);
  git_oid_cpy(&e.oid, git_tree_entry_id(entry));
  e.mode = git_tree_entry_filemode(entry);
  e.repo = state->repo;
  state->out->push_back(std::move(e));
  return 0;
}

// Whether the scanned `paths` under `root` are exactly the manifest's: each
// recorded, of the kind recorded, and untouched; none missing.
bool is_exact(const std::filesystem::path& root, const Manifest& manifest, const std::vector<ScannedPath>& paths) {
  if (manifest.entries.empty() || paths.size() != manifest.entries.size()) return false;
  for (const auto& path : paths) {
    auto it = manifest.entries.find(path.path);
    if (it == manifest.entries.end() || path.unreadable) return false;
    const Recorded& recorded = it->second;
    const bool dir = S_ISDIR(path.stat.mode);
    if (dir != is_directory(static_cast<git_filemode_t>(recorded.git_mode))) return false;
    // A directory's times change with what is in it (checked path by path):
    // only its mode is its own.
    if (dir ? recorded.stat.mode != path.stat.mode
            : !untouched_since(root / path.path, recorded, path.stat, manifest.written_at))
      return false;
  }
  return true;
}

}  // namespace

struct WorktreeSlot::Scan {
  Manifest manifest;
  std::vector<ScannedPath> paths;
  bool exact = false;  // the paths are the manifest's, each untouched
};

WorktreeSlot::WorktreeSlot(std::filesystem::path files, int lock_fd) : files_(std::move(files)), lock_fd_(lock_fd) {}

void list_tree(git_repository* repo, git_object* commit, const std::string& prefix, const std::string& what,
               std::vector<TreeEntry>& out) {
  git_tree* raw = nullptr;
  if (git_commit_tree(&raw, reinterpret_cast<git_commit*>(commit)) != 0)
    throw DamagedMirror(fmt::format("{}: cannot read the commit's tree: {}", what, last_error()));
  TreePtr tree(raw);
  ListState state{repo, prefix, &out};
  if (git_tree_walk(tree.get(), GIT_TREEWALK_PRE, on_tree_entry, &state) != 0)
    throw DamagedMirror(fmt::format("{}: cannot walk the tree: {}", what, last_error()));
}

std::shared_ptr<WorktreeSlot> WorktreeSlot::acquire(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InfraError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  for (int n = 0; n < kMaxSlots; ++n) {
    const auto lock = dir / fmt::format("{}.lock", n);
    int fd = ::open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) throw InfraError(fmt::format("cannot open {}: {}", lock.string(), std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      auto files = dir / std::to_string(n);
      std::filesystem::create_directories(files, ec);
      if (ec) {
        ::close(fd);
        throw InfraError(fmt::format("cannot create {}: {}", files.string(), ec.message()));
      }
      return std::shared_ptr<WorktreeSlot>(new WorktreeSlot(files, fd));
    }
    ::close(fd);  // held by another run (or this one's other tree): try the next
  }
  throw InfraError(fmt::format("{}: all {} worktree slots are in use", dir.string(), kMaxSlots));
}

WorktreeSlot::~WorktreeSlot() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::filesystem::path WorktreeSlot::manifest_path() const { return files_.string() + ".manifest"; }

void WorktreeSlot::scan() {
  if (scan_) return;
  scan_ = std::make_unique<Scan>();
  scan_->manifest = load_manifest(manifest_path());
  if (scan_->manifest.entries.empty()) return;  // wiped anyway
  int root_fd = ::open(files_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) {  // removed or made unreadable by the last run
    ::chmod(files_.c_str(), 0755);
    root_fd = ::open(files_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  // A root that cannot be listed: the manifest says nothing about what is
  // there, so the slot is wiped.
  scan_->paths.reserve(scan_->manifest.entries.size() + 64);
  if (root_fd < 0 || !scan_dir(root_fd, "", scan_->paths)) scan_->manifest.entries.clear();
  if (root_fd >= 0) ::close(root_fd);
  scan_->exact = is_exact(files_, scan_->manifest, scan_->paths);
}

bool WorktreeSlot::holds(const std::string& tree) {
  scan();
  if (!scan_->exact || tree.empty() || scan_->manifest.tree != tree) return false;
  ::chmod(files_.c_str(), 0755);  // as lay_out leaves it, whatever a run made of it
  scan_.reset();                  // used once: the next checkout into this slot scans again
  return true;
}

size_t WorktreeSlot::lay_out(const std::vector<TreeEntry>& entries, const std::string& tree, const std::string& what) {
  scan();
  std::unique_ptr<Scan> scan = std::move(scan_);  // used once: the slot changes now
  const bool trusted = !scan->manifest.entries.empty();
  const bool same_tree = scan->manifest.tree == tree;
  Layout layout(files_, entries, std::move(scan->manifest), manifest_path(), what);
  if (trusted) {
    layout.clean(scan->paths);
  } else {
    layout.changing();
    remove_tree(files_);
  }
  std::filesystem::create_directories(files_);
  ::chmod(files_.c_str(), 0755);

  std::unordered_map<std::string, Recorded> now = std::move(layout.kept());
  // Directories first, in pre-order, then the files into them.
  std::vector<const TreeEntry*> files;
  for (const auto& entry : entries) {
    if (now.count(entry.path)) continue;
    if (!is_directory(entry.mode)) {
      files.push_back(&entry);
      continue;
    }
    const auto path = files_ / entry.path;
    if (::mkdir(path.c_str(), 0777) != 0) {
      if (errno != EEXIST)
        throw InfraError(fmt::format("{}: cannot create {}: {}", what, path.string(), std::strerror(errno)));
    } else {
      layout.changing();
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) now.emplace(entry.path, record(entry, file_stat(st)));
  }
  if (!files.empty()) layout.changing();
  try {
    for (auto& [path, recorded] : write_files(files_, files)) now.emplace(std::move(path), recorded);
  } catch (const DamagedMirror& e) {
    throw DamagedMirror(fmt::format("{}: {}", what, e.what()));
  }
  // Nothing changed: the manifest on disk still says exactly this (unless
  // it named another tree, or none, for the same files).
  if (layout.changed() || !same_tree) save_manifest(manifest_path(), tree, now);
  return files.size();
}

}  // namespace gate::git::detail

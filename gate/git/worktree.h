#pragma once
// Persistent worktrees: the files of a commit laid out in a directory that is
// kept in the cache between runs and updated in place, so that a warm run
// writes only what changed and what the consumer sees is still byte-identical
// to a fresh checkout (anything a run left, deleted or chmod-ed is put back).
//
// Layout, per consumer repository, under <cache>/trees/<name>-<url key>/:
//   <n>/           the files of slot n
//   <n>.lock       held (flock) by the one run using slot n; released at exit
//   <n>.manifest   what gate wrote there: path, blob, mode and the file's stat,
//                  and the tree that was (tree_manifest.h)
// A run takes the first slot nobody holds, so concurrent gates sharing a cache
// each get a tree of their own and never wait for each other's tests.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "git/libgit2.h"
#include "git/tree_manifest.h"

namespace gate::git::detail {

// One entry of the tree to lay out, with the repository its blob is in
// (a submodule's entries come from the submodule's mirror).
struct TreeEntry {
  std::string path;  // relative, '/'-separated
  git_oid oid{};
  git_filemode_t mode = GIT_FILEMODE_BLOB;  // TREE and COMMIT (gitlink) are directories
  git_repository* repo = nullptr;
};

// Appends the entries of `commit`'s tree, in pre-order, under `prefix`.
void list_tree(git_repository* repo, git_object* commit, const std::string& prefix, const std::string& what,
               std::vector<TreeEntry>& out);

// A path found in a slot, as lstat saw it.
struct ScannedPath {
  std::string path;
  FileStat stat;
  bool unreadable = false;  // a directory a run made unreadable
};

class WorktreeSlot {
 public:
  // Takes the first free slot of `dir` (created if needed).
  static std::shared_ptr<WorktreeSlot> acquire(const std::filesystem::path& dir);
  WorktreeSlot(const WorktreeSlot&) = delete;
  WorktreeSlot& operator=(const WorktreeSlot&) = delete;
  ~WorktreeSlot();  // releases the slot; its files stay for the next run

  const std::filesystem::path& path() const { return files_; }

  // Reads the manifest and lstat-s every path of the slot, changing nothing,
  // and compares the two: the slow part of a warm checkout, done while the
  // fetch runs. lay_out and holds scan by themselves when this was not called.
  void scan();

  // Whether the slot holds exactly the files of `tree` (an object id) as
  // gate laid them out: every path recorded and untouched, nothing else.
  // Then there is nothing to lay out, nor a tree to list.
  bool holds(const std::string& tree);

  // Makes the slot's files exactly `entries`: keeps what gate wrote before
  // and nobody touched since, rewrites the rest, removes everything else.
  // `tree` names what `entries` are, when they are one tree's files (empty
  // otherwise). Returns how many files were written.
  size_t lay_out(const std::vector<TreeEntry>& entries, const std::string& tree, const std::string& what);

 private:
  WorktreeSlot(std::filesystem::path files, int lock_fd);
  std::filesystem::path manifest_path() const;

  struct Scan;

  std::filesystem::path files_;
  int lock_fd_;
  std::unique_ptr<Scan> scan_;
};

}  // namespace gate::git::detail

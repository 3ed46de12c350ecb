#pragma once
// A worktree slot's manifest: what gate wrote at each path of the slot (blob,
// mode, and the file as lstat saw it right after writing), and which tree
// that was. A warm checkout trusts a path only while lstat still sees it the
// same; the file on disk is `<slot>.manifest` (see worktree.h).
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>

#include "git/libgit2.h"

namespace gate::git::detail {

// The part of lstat's answer that shows a change: a rewrite, a chmod, a
// replacement (a new inode), or a write that kept the size.
struct FileStat {
  unsigned mode = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime = 0;  // nanoseconds
  int64_t ctime = 0;  // nanoseconds

  bool operator==(const FileStat&) const = default;
};
FileStat file_stat(const struct stat& st);

// What gate left at a path.
struct Recorded {
  git_oid oid{};
  unsigned git_mode = 0;  // the tree entry's mode: a directory, a file, a link...
  FileStat stat;
};

struct Manifest {
  int64_t written_at = 0;  // ctime of the manifest file: later changes are never "unchanged"
  // The tree the slot holds, when it is exactly one tree's files (no
  // submodules): what lets a warm checkout of the same tree skip listing it.
  std::string tree;
  std::unordered_map<std::string, Recorded> entries;
};

// An unreadable, missing or malformed manifest is an empty one: the slot is
// wiped and written afresh.
Manifest load_manifest(const std::filesystem::path& path);

// Written to a temporary file and renamed: a reader sees the old manifest or
// the new one. When it cannot be written there is none, and the next run
// wipes the slot, which is only slower.
void save_manifest(const std::filesystem::path& path, const std::string& tree,
                   const std::unordered_map<std::string, Recorded>& entries);

}  // namespace gate::git::detail

// Persistent worktree slots: one per holder, laid out in place against the
// manifest, and never trusting a file whose stat or content moved.
#include "git/worktree.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

using namespace gate::git::detail;

namespace {

// A bare repository with one commit of `files` (path -> content), made with
// libgit2 in a temporary directory.
class Repo {
 public:
  using Files = std::map<std::string, std::string>;
  explicit Repo(const Files& files) {
    git_libgit2_init();
    dir_ = std::filesystem::temp_directory_path() / ("gate-worktree-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    EXPECT_EQ(git_repository_init(&repo_, (dir_ / "repo.git").c_str(), 1), 0);
    for (const auto& [path, content] : files) {
      TreeEntry e;
      e.path = path;
      EXPECT_EQ(git_blob_create_from_buffer(&e.oid, repo_, content.data(), content.size()), 0);
      e.repo = repo_;
      entries_.push_back(e);
    }
  }
  ~Repo() {
    git_repository_free(repo_);
    std::filesystem::remove_all(dir_);
  }
  const std::vector<TreeEntry>& entries() const { return entries_; }
  std::filesystem::path trees() const { return dir_ / "trees"; }

 private:
  std::filesystem::path dir_;
  git_repository* repo_ = nullptr;
  std::vector<TreeEntry> entries_;
};

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<TreeEntry> with_dirs(std::vector<TreeEntry> files) {
  TreeEntry dir;
  dir.path = "src";
  dir.mode = GIT_FILEMODE_TREE;
  files.insert(files.begin(), dir);
  return files;
}

}  // namespace

TEST(Worktree, EachHolderGetsASlotOfItsOwnAndAReleasedSlotIsTakenAgain) {
  Repo repo(Repo::Files{});
  auto first = WorktreeSlot::acquire(repo.trees());
  auto second = WorktreeSlot::acquire(repo.trees());
  EXPECT_NE(first->path(), second->path());
  const auto path = first->path();
  first.reset();
  EXPECT_EQ(WorktreeSlot::acquire(repo.trees())->path(), path);
}

TEST(Worktree, AWarmLayOutWritesOnlyWhatWasTouched) {
  Repo repo(Repo::Files{{"src/a.py", "alpha\n"}, {"src/b.py", "bravo\n"}, {"src/c.py", "charlie\n"}});
  const auto entries = with_dirs(repo.entries());
  auto slot = WorktreeSlot::acquire(repo.trees());
  EXPECT_EQ(slot->lay_out(entries, "", "test"), 3u);
  EXPECT_EQ(slot->lay_out(entries, "", "test"), 0u);

  const auto root = slot->path();
  { std::ofstream(root / "src/b.py") << "BRAVO\n"; }  // same size
  { std::ofstream(root / "left.txt") << "left\n"; }
  std::filesystem::remove(root / "src/c.py");
  EXPECT_EQ(slot->lay_out(entries, "", "test"), 2u);
  EXPECT_EQ(read(root / "src/b.py"), "bravo\n");
  EXPECT_EQ(read(root / "src/c.py"), "charlie\n");
  EXPECT_FALSE(std::filesystem::exists(root / "left.txt"));
}

TEST(Worktree, ARewriteThatKeepsSizeAndTimesIsPutBack) {
  Repo repo(Repo::Files{{"src/a.py", "alpha\n"}});
  const auto entries = with_dirs(repo.entries());
  auto slot = WorktreeSlot::acquire(repo.trees());
  slot->lay_out(entries, "", "test");
  // Rewritten at once, same size, its times put back: within the tick of
  // the manifest's save only the content shows it, later the ctime does.
  const auto file = slot->path() / "src/a.py";
  struct stat before {};
  ::stat(file.c_str(), &before);
  { std::ofstream(file) << "ALPHA\n"; }
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ::utimensat(AT_FDCWD, file.c_str(), times, 0);
  slot->lay_out(entries, "", "test");
  EXPECT_EQ(read(file), "alpha\n");
}

TEST(Worktree, ASlotWithoutAReadableManifestIsWipedNotTrusted) {
  Repo repo(Repo::Files{{"src/a.py", "alpha\n"}});
  const auto entries = with_dirs(repo.entries());
  auto slot = WorktreeSlot::acquire(repo.trees());
  slot->lay_out(entries, "", "test");
  { std::ofstream(slot->path() / "stray") << "x"; }
  { std::ofstream(slot->path().string() + ".manifest") << "gate-tree 1 12\n0 broken"; }
  EXPECT_EQ(slot->lay_out(entries, "", "test"), 1u);
  EXPECT_FALSE(std::filesystem::exists(slot->path() / "stray"));
}

TEST(Worktree, ThousandsOfFilesAreWrittenByEveryCoreEachOnceWithItsContent) {
  // Enough files for several writer threads (write_files), in 20 directories.
  Repo::Files files;
  for (int i = 0; i < 2000; ++i) files[fmt::format("d{:02}/f{:04}.txt", i % 20, i)] = fmt::format("file {}\n", i);
  Repo repo(files);
  std::vector<TreeEntry> entries;
  std::string directory;
  for (const auto& file : repo.entries()) {
    const std::string parent = file.path.substr(0, file.path.find('/'));
    if (parent != directory) {
      TreeEntry dir;
      dir.path = directory = parent;
      dir.mode = GIT_FILEMODE_TREE;
      entries.push_back(dir);
    }
    entries.push_back(file);
  }
  auto slot = WorktreeSlot::acquire(repo.trees());
  EXPECT_EQ(slot->lay_out(entries, "", "test"), 2000u);
  for (const auto& [path, content] : files) ASSERT_EQ(read(slot->path() / path), content) << path;
  // Every file was recorded as written: nothing is written again.
  EXPECT_EQ(slot->lay_out(entries, "", "test"), 0u);
}

TEST(Worktree, ASlotHoldsTheTreeItWasLaidOutFromUntilAnythingInItMoves) {
  Repo repo(Repo::Files{{"src/a.py", "alpha\n"}, {"src/b.py", "bravo\n"}});
  const auto entries = with_dirs(repo.entries());
  const auto trees = repo.trees();
  auto fresh_slot = [&] { return WorktreeSlot::acquire(trees); };  // a new scan, as a new run makes
  EXPECT_EQ(fresh_slot()->lay_out(entries, "tree-1", "test"), 2u);
  EXPECT_TRUE(fresh_slot()->holds("tree-1"));
  EXPECT_FALSE(fresh_slot()->holds("tree-2"));
  EXPECT_FALSE(fresh_slot()->holds(""));

  // Each change a run can leave, on its own: the slot no longer holds the
  // tree, and a lay_out puts it back, after which it holds it again.
  const auto root = fresh_slot()->path();
  const std::vector<std::function<void()>> changes = {
      [&] { std::ofstream(root / "left.txt") << "left\n"; },
      [&] { std::filesystem::create_directory(root / "src/cache"); },
      [&] { std::filesystem::remove(root / "src/b.py"); },
      [&] { ::chmod((root / "src/a.py").c_str(), 0755); },
      [&] { ::chmod((root / "src").c_str(), 0700); },
      [&] { std::ofstream(root / "src/a.py", std::ios::app) << "more\n"; },
      [&] {  // same size and times: only the content (the file is racily clean) or the ctime shows it
        struct stat before {};
        ::stat((root / "src/a.py").c_str(), &before);
        { std::ofstream(root / "src/a.py") << "ALPHA\n"; }
        struct timespec times[2] = {before.st_atim, before.st_mtim};
        ::utimensat(AT_FDCWD, (root / "src/a.py").c_str(), times, 0);
      },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    changes[i]();
    EXPECT_FALSE(fresh_slot()->holds("tree-1")) << "change " << i;
    fresh_slot()->lay_out(entries, "tree-1", "test");
    EXPECT_TRUE(fresh_slot()->holds("tree-1")) << "change " << i;
  }
  EXPECT_EQ(read(root / "src/a.py"), "alpha\n");
  EXPECT_FALSE(std::filesystem::exists(root / "left.txt"));
}

TEST(Worktree, ASlotHoldingTheTreeGetsItsRootModeBack) {
  Repo repo(Repo::Files{{"src/a.py", "alpha\n"}});
  const auto entries = with_dirs(repo.entries());
  auto slot = WorktreeSlot::acquire(repo.trees());
  slot->lay_out(entries, "tree-1", "test");
  ::chmod(slot->path().c_str(), 0500);
  EXPECT_TRUE(slot->holds("tree-1"));
  struct stat st {};
  ::stat(slot->path().c_str(), &st);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST(Worktree, AManifestOfAnEarlierGateNamesNoTreeAndGetsOneWithoutRewritingAFile) {
  Repo repo(Repo::Files{{"src/a.py", "alpha\n"}});
  const auto entries = with_dirs(repo.entries());
  auto slot = WorktreeSlot::acquire(repo.trees());
  slot->lay_out(entries, "tree-1", "test");
  // Version 1: "gate-tree 1 <time>\n", no tree; the records are the same.
  const auto manifest = slot->path().string() + ".manifest";
  std::string text = read(manifest);
  const auto line_end = text.find('\n');
  const auto time_end = text.rfind(' ', line_end);
  text = "gate-tree 1 " + text.substr(12, time_end - 12) + text.substr(line_end);
  { std::ofstream(manifest, std::ios::binary) << text; }
  EXPECT_FALSE(slot->holds("tree-1"));
  EXPECT_EQ(slot->lay_out(entries, "tree-1", "test"), 0u);
  EXPECT_TRUE(slot->holds("tree-1"));
}

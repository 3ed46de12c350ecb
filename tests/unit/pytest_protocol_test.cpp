// The listing gate keeps of a pytest selection, and the narrowed batches
// it checks by digest (no pytest here: tests/e2e/test_pytest_plugin.sh runs
// the plugin).
#include "suite/pytest_protocol.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "registry/digest.h"

using namespace gate::suite;

namespace {

std::string digest_of(const std::vector<std::string>& ids) {
  std::string text;
  for (const auto& id : ids) text += id + "\n";
  return gate::registry::sha256_digest(text).substr(7);
}

struct Tree {
  std::filesystem::path root = std::filesystem::temp_directory_path() / ("gate-listing-" + std::to_string(::getpid()));
  Tree() {
    std::filesystem::create_directories(root / "sub/t");
    for (const char* f : {"sub/t/a.py", "sub/t/b.py", "sub/t/c.py"}) std::ofstream(root / f) << "\n";
  }
  ~Tree() { std::filesystem::remove_all(root); }
};

}  // namespace

TEST(PytestListing, DigestIsWhatThePluginComputes) {
  PytestListing listing({"t/a.py::x", "t/b.py::y"}, "");
  EXPECT_EQ(listing.digest(), digest_of({"t/a.py::x", "t/b.py::y"}));
}

TEST(PytestListing, ANarrowedBatchExpectsEveryListedTestOfItsFilesInListingOrder) {
  Tree tree;
  // Ids relative to pytest's rootdir "sub"; a file's tests need not be together.
  PytestListing listing({"t/a.py::1", "t/b.py::1", "t/a.py::2", "t/c.py::1"}, "sub");
  std::vector<std::string_view> batch{"t/a.py::2", "t/b.py::1"};
  auto narrowed = listing.narrowed(batch, tree.root);
  ASSERT_TRUE(narrowed);
  EXPECT_EQ(narrowed->files,
            (std::vector<std::string>{(tree.root / "sub/t/a.py").string(), (tree.root / "sub/t/b.py").string()}));
  EXPECT_EQ(narrowed->digest, digest_of({"t/a.py::1", "t/b.py::1", "t/a.py::2"}));
  auto expected = listing.ids_of_files(narrowed->files, tree.root);
  EXPECT_EQ(std::vector<std::string>(expected.begin(), expected.end()),
            (std::vector<std::string>{"t/a.py::1", "t/b.py::1", "t/a.py::2"}));
}

TEST(PytestListing, NotNarrowedWhenATestIsNotInAFileOfTheWorktree) {
  Tree tree;
  PytestListing listing({"t/a.py::1", "t/gone.py::1", "weird-id", "../up.py::1"}, "sub");
  for (std::string_view test : {"t/gone.py::1", "weird-id", "t/unlisted.py::1", "../up.py::1"}) {
    EXPECT_FALSE(listing.narrowed({"t/a.py::1", test}, tree.root)) << test;
  }
}

TEST(ListingCache, KeptByCommitCommandAndSelection) {
  Tree tree;
  gate::process::Spec tool;
  tool.argv = {"/bin/sh", "-c", "pytest"};
  ListingCache cache(tree.root / "cache", tool, "c0ffee", {"tests"});
  EXPECT_FALSE(cache.load());
  cache.store(PytestListing({"t/a.py::1", "t/b.py::1"}, "sub"));
  auto kept = cache.load();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->ids(), (std::vector<std::string>{"t/a.py::1", "t/b.py::1"}));
  EXPECT_EQ(kept->rootdir(), "sub");
  EXPECT_FALSE(ListingCache(tree.root / "cache", tool, "other-commit", {"tests"}).load());
  EXPECT_FALSE(ListingCache(tree.root / "cache", tool, "c0ffee", {"tests", "-m slow"}).load());
  auto other_tool = tool;
  other_tool.argv.push_back("-x");
  EXPECT_FALSE(ListingCache(tree.root / "cache", other_tool, "c0ffee", {"tests"}).load());
  cache.forget();
  EXPECT_FALSE(cache.load());
}

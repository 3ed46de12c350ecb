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

// The plugin and its loader are written as gate has them; bytecode the
// plugin kept stays while the plugin is unchanged, and goes with a plugin
// that differs (else another gate's bytecode would be loaded for ever).
TEST(PytestPlugin, InstalledWithItsLoaderAndOnlyItsOwnBytecodeKept) {
  Tree tree;
  const auto dir = tree.root / "plugin";
  auto text_of = [](const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  install_pytest_plugin(dir);
  EXPECT_EQ(text_of(dir / "gate_pytest.py"), pytest_plugin_source());
  EXPECT_EQ(text_of(dir / "gate_pytest_loader.py"), pytest_loader_source());
  EXPECT_NE(pytest_loader_source().find("from gate_pytest import"), std::string_view::npos);
  std::filesystem::create_directories(dir / "__pycache__");
  std::ofstream(dir / "__pycache__/gate_pytest.cpython-311.pyc") << "bytecode";
  install_pytest_plugin(dir);
  EXPECT_TRUE(std::filesystem::exists(dir / "__pycache__/gate_pytest.cpython-311.pyc")) << "unchanged: kept";
  std::ofstream(dir / "gate_pytest.py") << "# another gate's plugin\n";
  install_pytest_plugin(dir);
  EXPECT_EQ(text_of(dir / "gate_pytest.py"), pytest_plugin_source());
  EXPECT_FALSE(std::filesystem::exists(dir / "__pycache__")) << "the other plugin's bytecode went with it";
}

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

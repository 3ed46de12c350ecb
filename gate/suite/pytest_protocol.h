#pragma once
// What gate and its pytest plugin (suite/pytest_plugin/gate_pytest.py) share:
// the plugin itself, written where PYTHONPATH finds it; the listing of a
// selection's tests (kept in the cache by what it depends on); and the
// narrowed arguments of a batch, with the listing the plugin checks them by.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "process/runner.h"

namespace gate::suite {

// The plugin's source, and the loader pytest is given (`-p
// gate_pytest_loader`: a line that imports it, so that pytest compiles no
// more than that line at each start), built into gate.
std::string_view pytest_plugin_source();
std::string_view pytest_loader_source();
inline constexpr const char* kPytestLoader = "gate_pytest_loader";
// Writes the plugin and its loader into `dir` (unless they are there as
// they are): the directory to put first on PYTHONPATH.
void install_pytest_plugin(const std::filesystem::path& dir);

// The tests a selection collects, in collection order, and the directory
// their node ids are relative to (pytest's rootdir, relative to the
// worktree; "" when it is the worktree).
class PytestListing {
 public:
  PytestListing() = default;
  PytestListing(std::vector<std::string> ids, std::string rootdir);

  const std::vector<std::string>& ids() const { return ids_; }
  const std::string& rootdir() const { return rootdir_; }
  const std::string& digest() const { return digest_; }
  bool empty() const { return ids_.empty(); }

  // What a batch collects when it collects only the files of its tests:
  // those files (absolute) and the digest of the listed tests in them, in
  // listing order. Nothing when a test is not in a file the worktree has
  // (then the batch collects the whole selection).
  struct Narrowed {
    std::vector<std::string> files;
    std::string digest;
  };
  std::optional<Narrowed> narrowed(const std::vector<std::string_view>& tests,
                                   const std::filesystem::path& worktree) const;
  // The ids a batch narrowed to these files should collect (all, for none).
  std::vector<std::string_view> ids_of_files(const std::vector<std::string>& files,
                                             const std::filesystem::path& worktree) const;

 private:
  void index_files() const;

  std::vector<std::string> ids_;
  std::string rootdir_;
  std::string digest_;
  // File part of each id -> positions of its ids (made on first use).
  mutable std::unordered_map<std::string, std::vector<uint32_t>> by_file_;
  mutable bool indexed_ = false;
};

// Listings kept between runs, one file each, under `dir` (the consumer's):
// named by everything the collection depends on that gate knows before
// running it: the consumer's commit, the command and its interpreter (path,
// size, mtime), the selection, the Python variables that change what pytest
// loads, and the plugin. What gate cannot know (a setup step that writes
// tests, tests parametrized from the environment) is checked run by run:
// the plugin reports the digest of what each batch collected.
class ListingCache {
 public:
  ListingCache(std::filesystem::path dir, const process::Spec& tool, const std::string& commit,
               const std::vector<std::string>& selection);
  std::optional<PytestListing> load() const;
  void store(const PytestListing& listing) const;  // best effort: a cache
  void forget() const;

 private:
  std::filesystem::path file_;
};

}  // namespace gate::suite

#include "suite/pytest_protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "registry/digest.h"

namespace gate::suite {
namespace {

// How many listings a consumer keeps (one per commit, command, selection).
constexpr size_t kListingsKept = 8;
constexpr std::string_view kListingHeader = "gate pytest listing 1";

std::string file_part(std::string_view id) {
  auto sep = id.find("::");
  return sep == std::string_view::npos ? std::string() : std::string(id.substr(0, sep));
}

// Writes `text` to `path` through a temporary file: readers see the old
// file or the new one, never half of one (concurrent gates share caches).
bool write_whole(const std::filesystem::path& path, std::string_view text) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  // Workers of one gate may write the same file at once: a name of each's own.
  static std::atomic<unsigned> written{0};
  auto temporary = path;
  temporary += fmt::format(".tmp{}.{}", ::getpid(), written++);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) return false;
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec) std::filesystem::remove(temporary, ec);
  return !ec;
}

// The program's identity: where it really is, its size and mtime (a
// Python upgraded in place, a venv rebuilt, is another interpreter).
std::string program_identity(const process::Spec& tool) {
  try {
    auto program = process::resolve_program(tool);
    std::error_code ec;
    auto real = std::filesystem::canonical(program, ec);
    if (ec) return program.string();
    auto size = std::filesystem::file_size(real, ec);
    auto mtime = std::filesystem::last_write_time(real, ec).time_since_epoch().count();
    return fmt::format("{} {} {} {}", program.string(), real.string(), size, mtime);
  } catch (const InfraError&) {
    return tool.argv.empty() ? "" : tool.argv[0];  // the run will say it cannot start
  }
}

}  // namespace

PytestListing::PytestListing(std::vector<std::string> ids, std::string rootdir)
    : ids_(std::move(ids)), rootdir_(std::move(rootdir)) {
  registry::Sha256Stream sha;
  for (const auto& id : ids_) {
    sha.update(id);
    sha.update("\n");
  }
  digest_ = sha.hex();
}

void PytestListing::index_files() const {
  if (indexed_) return;
  indexed_ = true;
  for (size_t i = 0; i < ids_.size(); ++i) by_file_[file_part(ids_[i])].push_back(static_cast<uint32_t>(i));
}

std::optional<PytestListing::Narrowed> PytestListing::narrowed(const std::vector<std::string_view>& tests,
                                                               const std::filesystem::path& worktree) const {
  index_files();
  Narrowed out;
  std::unordered_set<std::string> seen;
  std::vector<uint32_t> positions;  // of every listed test in the batch's files
  for (auto test : tests) {
    std::string file = file_part(test);
    if (file.empty()) return std::nullopt;
    if (seen.count(file)) continue;
    auto listed = by_file_.find(file);
    if (listed == by_file_.end()) return std::nullopt;
    std::error_code ec;
    auto path = std::filesystem::absolute(worktree / rootdir_ / file, ec);  // pytest runs elsewhere
    if (file.starts_with('/') || file.find("..") != std::string::npos || !std::filesystem::is_regular_file(path, ec)) {
      return std::nullopt;
    }
    seen.insert(file);
    out.files.push_back(path.lexically_normal().string());
    positions.insert(positions.end(), listed->second.begin(), listed->second.end());
  }
  // What a whole run collects in those files, in its order.
  std::sort(positions.begin(), positions.end());
  registry::Sha256Stream sha;
  for (uint32_t at : positions) {
    sha.update(ids_[at]);
    sha.update("\n");
  }
  out.digest = sha.hex();
  return out;
}

std::vector<std::string_view> PytestListing::ids_of_files(const std::vector<std::string>& files,
                                                          const std::filesystem::path& worktree) const {
  std::vector<std::string_view> out;
  if (files.empty()) {
    out.assign(ids_.begin(), ids_.end());
    return out;
  }
  index_files();
  std::vector<uint32_t> positions;
  for (const auto& path : files) {
    std::error_code ec;
    auto base = std::filesystem::absolute(worktree / rootdir_, ec).lexically_normal();
    auto relative = std::filesystem::path(path).lexically_relative(base);
    auto listed = by_file_.find(relative.string());
    if (listed != by_file_.end()) positions.insert(positions.end(), listed->second.begin(), listed->second.end());
  }
  std::sort(positions.begin(), positions.end());
  for (uint32_t at : positions) out.push_back(ids_[at]);
  return out;
}

ListingCache::ListingCache(std::filesystem::path dir, const process::Spec& tool, const std::string& commit,
                           const std::vector<std::string>& selection) {
  if (dir.empty() || commit.empty()) return;
  std::ostringstream key;
  key << kListingHeader << '\n' << registry::sha256_digest(pytest_plugin_source()) << '\n' << commit << '\n';
  for (const auto& arg : tool.argv) key << "argv " << arg << '\0';
  key << '\n' << program_identity(tool) << '\n';
  for (const auto& arg : selection) key << "selection " << arg << '\0';
  key << '\n';
  for (const char* name : {"PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "VIRTUAL_ENV"}) {
    if (tool.env && tool.env->count(name)) key << name << '=' << tool.env->at(name) << '\0';
  }
  file_ = dir / (registry::sha256_digest(key.str()).substr(7, 24) + ".txt");
}

std::optional<PytestListing> ListingCache::load() const {
  if (file_.empty()) return std::nullopt;
  std::ifstream in(file_, std::ios::binary);
  std::string header, rootdir;
  if (!in || !std::getline(in, header) || header != kListingHeader || !std::getline(in, rootdir) ||
      !rootdir.starts_with("rootdir:")) {
    return std::nullopt;
  }
  std::vector<std::string> ids;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) ids.push_back(std::move(line));
  }
  if (ids.empty()) return std::nullopt;  // an empty selection is collected again: it is an error to report
  return PytestListing(std::move(ids), rootdir.substr(8));
}

void ListingCache::store(const PytestListing& listing) const {
  if (file_.empty() || listing.empty()) return;
  std::string text = fmt::format("{}\nrootdir:{}\n", kListingHeader, listing.rootdir());
  for (const auto& id : listing.ids()) {
    text += id;
    text += '\n';
  }
  if (!write_whole(file_, text)) {
    log::warn(fmt::format("could not keep the test listing in {}", file_.string()));
    return;
  }
  // The newest few are kept: one per commit a consumer was tested at.
  std::error_code ec;
  std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> kept;
  for (const auto& entry : std::filesystem::directory_iterator(file_.parent_path(), ec)) {
    if (entry.path().extension() == ".txt") kept.emplace_back(entry.last_write_time(ec), entry.path());
  }
  if (kept.size() <= kListingsKept) return;
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = kListingsKept; i < kept.size(); ++i) std::filesystem::remove(kept[i].second, ec);
}

void ListingCache::forget() const {
  std::error_code ec;
  if (!file_.empty()) std::filesystem::remove(file_, ec);
}

namespace {

bool holds(const std::filesystem::path& file, std::string_view text) {
  std::error_code ec;
  if (std::filesystem::file_size(file, ec) != text.size()) return false;
  std::ifstream in(file, std::ios::binary);
  std::string held((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return held == text;
}

}  // namespace

void install_pytest_plugin(const std::filesystem::path& dir) {
  const std::pair<const char*, std::string_view> files[] = {{"gate_pytest.py", pytest_plugin_source()},
                                                            {"gate_pytest_loader.py", pytest_loader_source()}};
  for (const auto& [name, source] : files) {
    const auto file = dir / name;
    if (holds(file, source)) continue;
    // The plugin keeps its bytecode in __pycache__ (written when there is
    // none): bytecode of another gate's plugin would never be replaced.
    std::error_code ec;
    std::filesystem::remove_all(dir / "__pycache__", ec);
    if (!write_whole(file, source))
      throw InfraError(fmt::format("cannot write gate's pytest plugin to {}", file.string()));
  }
}

}  // namespace gate::suite

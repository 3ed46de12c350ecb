#include "suite/coverage.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "core/log.h"
#include "process/runner.h"

namespace gate::suite {
namespace {

namespace fs = std::filesystem;

// A directory holds Go counters when a covmeta.* file is in it.
bool has_counters(const fs::path& dir) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (entry.path().filename().string().rfind("covmeta.", 0) == 0) return true;
  }
  return false;
}

std::string joined(const std::vector<fs::path>& dirs) {
  std::string text;
  for (const auto& dir : dirs) text += (text.empty() ? "" : ",") + dir.string();
  return text;
}

}  // namespace

fs::path consumer_coverage_dir(const fs::path& report_dir, const std::string& consumer) {
  fs::path dir = fs::absolute(report_dir / "coverage" / "raw" / consumer);
  std::error_code error;
  fs::remove_all(dir, error);  // counters of an earlier run in this report directory are not this run's
  fs::create_directories(dir, error);
  fs::permissions(dir, fs::perms::all, error);
  return dir;
}

std::vector<fs::path> raw_coverage_dirs(const std::vector<fs::path>& report_dirs) {
  std::vector<fs::path> dirs;
  for (const auto& report_dir : report_dirs) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(report_dir / "coverage" / "raw", error)) {
      if (entry.is_directory()) dirs.push_back(fs::absolute(entry.path()));
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

ProfileTotals go_profile_totals(const std::string& profile_text) {
  // block -> (statements, covered?)
  std::map<std::string, std::pair<long long, bool>> blocks;
  std::istringstream lines(profile_text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.rfind("mode:", 0) == 0) continue;
    // file.go:12.34,14.2 3 1  (the file name may hold spaces: split from the right)
    size_t count_at = line.rfind(' ');
    if (count_at == std::string::npos || count_at == 0) continue;
    size_t statements_at = line.rfind(' ', count_at - 1);
    if (statements_at == std::string::npos) continue;
    try {
      long long statements = std::stoll(line.substr(statements_at + 1, count_at - statements_at - 1));
      long long count = std::stoll(line.substr(count_at + 1));
      auto& block = blocks[line.substr(0, statements_at)];
      block.first = statements;
      block.second = block.second || count > 0;
    } catch (const std::exception&) {
      continue;  // not a block line
    }
  }
  ProfileTotals totals;
  for (const auto& [name, block] : blocks) {
    totals.statements += block.first;
    if (block.second) totals.covered += block.first;
  }
  return totals;
}

nlohmann::json summarize_coverage(const config::Coverage& coverage, const std::vector<fs::path>& raw_dirs,
                                  const fs::path& report_dir) {
  nlohmann::json result{{"kind", coverage.kind}, {"env", coverage.env}};
  std::vector<fs::path> with_counters;
  for (const auto& dir : raw_dirs) {
    if (has_counters(dir)) with_counters.push_back(dir);
  }
  result["directories"] = with_counters.size();
  auto fail = [&](const std::string& why) {
    result["error"] = why;
    log::warn("coverage: " + why);
    return result;
  };
  if (with_counters.empty()) {
    return fail(
        fmt::format("no counters were written into {} (was the candidate built with `go build -cover`, given "
                    "${} and stopped normally?)",
                    raw_dirs.empty() ? "any coverage directory" : joined(raw_dirs), coverage.env));
  }
  const fs::path out = fs::absolute(report_dir / "coverage");
  const fs::path merged = out / "merged";
  std::error_code error;
  fs::remove_all(merged, error);
  fs::create_directories(merged, error);
  try {
    auto merge = process::capture(
        {coverage.go, "tool", "covdata", "merge", "-i=" + joined(with_counters), "-o=" + merged.string()},
        std::chrono::minutes(5));
    if (!merge.ok())
      return fail(
          fmt::format("`{} tool covdata merge` failed ({}): {}", coverage.go, merge.describe(), merge.output_end(400)));
    const fs::path profile = out / "coverage.txt";
    auto textfmt =
        process::capture({coverage.go, "tool", "covdata", "textfmt", "-i=" + merged.string(), "-o=" + profile.string()},
                         std::chrono::minutes(5));
    if (!textfmt.ok()) {
      return fail(fmt::format("`{} tool covdata textfmt` failed ({}): {}", coverage.go, textfmt.describe(),
                              textfmt.output_end(400)));
    }
    std::ifstream in(profile);
    std::stringstream text;
    text << in.rdbuf();
    ProfileTotals totals = go_profile_totals(text.str());
    if (totals.statements == 0) return fail(fmt::format("the profile {} lists no statement", profile.string()));
    double percent = 100.0 * static_cast<double>(totals.covered) / static_cast<double>(totals.statements);
    result["percent"] = std::round(percent * 10.0) / 10.0;
    result["statements"] = totals.statements;
    result["covered"] = totals.covered;
    result["profile"] = "coverage/coverage.txt";
    log::info(fmt::format("coverage of the candidate: {:.1f}% of {} statements ({} counter directories)", percent,
                          totals.statements, with_counters.size()));
  } catch (const std::exception& e) {
    return fail(fmt::format("cannot run `{} tool covdata`: {} (coverage needs Go >= 1.20; set coverage.go)",
                            coverage.go, e.what()));
  }
  return result;
}

}  // namespace gate::suite

#pragma once
// Coverage of the candidate under the consumers' tests (config `coverage:`).
//
// Go: each consumer gets a directory of its own, named by `coverage.env`
// (GOCOVERDIR) in its environment and bind-mounted at the same path into its
// service containers; a candidate built with `go build -cover` writes its
// counters there when it exits (services get SIGTERM and a grace period, so
// they do). After the run, `go tool covdata merge` joins every directory
// (every consumer, and with `gate merge` every shard), `textfmt` writes the
// profile, and the percentage of statements covered goes into the reports.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"

namespace gate::suite {

// REPORT_DIR/coverage/raw/CONSUMER, created, writable by any user (the
// candidate's containers may run as another user).
std::filesystem::path consumer_coverage_dir(const std::filesystem::path& report_dir, const std::string& consumer);

// The raw directories under these report directories (REPORT_DIR/coverage/raw/*).
std::vector<std::filesystem::path> raw_coverage_dirs(const std::vector<std::filesystem::path>& report_dirs);

// Merges the raw directories into REPORT_DIR/coverage/merged and the profile
// REPORT_DIR/coverage/coverage.txt; returns what the reports show:
// {kind, percent, statements, covered, profile, directories} or, when there
// is nothing to show, {kind, error}. Never throws: coverage informs, it does
// not decide.
nlohmann::json summarize_coverage(const config::Coverage& coverage, const std::vector<std::filesystem::path>& raw_dirs,
                                  const std::filesystem::path& report_dir);

// Statements and covered statements of a Go text profile (`mode:` line, then
// `file:l.c,l.c statements count`); a block listed twice counts once.
struct ProfileTotals {
  long long statements = 0;
  long long covered = 0;
};
ProfileTotals go_profile_totals(const std::string& profile_text);

}  // namespace gate::suite

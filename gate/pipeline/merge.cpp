// The fan-in: one verdict from the verdicts of every shard job, by the rules
// of shard_join.h; what the shards learnt goes into the timing store, and a
// passing whole is recorded on the digest.
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/error.h"
#include "core/log.h"
#include "pipeline/decide.h"
#include "pipeline/session.h"
#include "pipeline/shard_join.h"
#include "pipeline/shared_timings.h"
#include "report/renderers.h"
#include "report/verdict_json.h"
#include "suite/coverage.h"
#include "suite/evidence.h"
#include "suite/timings.h"
#include "version.h"

namespace gate::pipeline {
namespace {

report::Verdict read_shard(const std::filesystem::path& dir) {
  auto file = dir / "verdict.json";
  if (!std::filesystem::exists(file))
    throw InfraError(fmt::format("merge: no verdict.json in {} (that shard's results are missing)", dir.string()));
  report::Verdict verdict;
  try {
    verdict = report::read_verdict_file(file);
  } catch (const report::MalformedJson& e) {
    throw InfraError(fmt::format("merge: {} is not a gate verdict: {}", file.string(), e.what()));
  }
  // A shard with over report::kListedTests tests names part of them in its
  // verdict; the rest are beside it. The fan-in needs every one.
  try {
    report::restore_omitted_tests(verdict, dir);
  } catch (const InfraError& e) {
    throw InfraError(fmt::format("merge: {}", e.what()));
  }
  return verdict;
}

// The shards each ran a part: whether a test the last passing run reported
// went missing is a question for the whole consumer, asked here.
void check_missing_across_shards(const config::Config& config, const config::Consumer& consumer,
                                 const suite::TimingStore& history, report::ConsumerResult& whole) {
  if (!history.last_pass) return;
  std::vector<std::string> ids;
  ids.reserve(whole.tests.size());
  for (const auto& t : whole.tests) ids.push_back(t.id());
  const std::unordered_set<std::string_view> ran(ids.begin(), ids.end());
  auto missing = suite::missing_since(consumer, *history.last_pass, whole.commit, ran);
  if (suite::note_missing(config, consumer, *history.last_pass, std::move(missing), whole)) {
    whole.status = report::ConsumerStatus::failed;
  }
}

// The next run's plan, on any machine: what every shard measured, shared
// in the registry. A failure warns: durations balance shards, they never
// decide a verdict.
void share_durations(Session& session, const report::Verdict& merged) {
  const config::Config& config = session.config;
  for (size_t i = 0; i < config.consumers.size(); ++i) {
    if (!config.consumers[i].knows_tests()) continue;
    Durations seconds;
    for (auto& [test, s] : suite::lessons_of(config.consumers[i], merged.consumers[i]).seconds) seconds[test] = s;
    if (seconds.empty()) continue;
    try {
      share_timings(session.registry(), repository_of(config).repository, config.consumers[i].name, seconds);
    } catch (const Interrupted&) {
      throw;
    } catch (const InfraError& e) {
      log::warn(
          fmt::format("{}: could not share the test durations in the registry (the next plan on another "
                      "machine splits without them): {}",
                      config.consumers[i].name, e.what()));
    }
  }
}

}  // namespace

ExitCode merge(const CommonOptions& common, const MergeOptions& options) {
  if (options.dirs.empty()) throw UsageError("merge needs the shards' report directories");
  Session session(common, "merge");
  const config::Config& config = session.config;
  report::Verdict& merged = session.verdict;
  merged.dry_run = true;
  return with_reports(session, [&] {
    std::vector<ShardReport> shards;
    for (const auto& dir : options.dirs) shards.push_back({dir, read_shard(dir)});
    // The versions the shards tested, which they must agree on: the fan-in
    // asks no remote (a release tagged since would be one no shard ran).
    for (const auto& shard : shards) {
      if (shard.verdict.versions != shards.front().verdict.versions) {
        throw InfraError(fmt::format("merge: the shards in {} and {} tested different consumer versions",
                                     shards.front().dir.string(), shard.dir.string()));
      }
    }
    session.select_consumers(&shards.front().verdict.versions, "the shards' reports");
    join_shards(config, shards, merged);
    for (size_t i = 0; i < config.consumers.size(); ++i) {
      const auto store_file = suite::timings_file(session.cache_dir(), config.consumers[i].name);
      check_missing_across_shards(config, config.consumers[i], suite::load_store(store_file), merged.consumers[i]);
      // The fan-in records what every shard learnt for the next run's plan.
      suite::update_store(store_file, suite::lessons_of(config.consumers[i], merged.consumers[i]));
    }
    decide(merged);
    // Coverage: every shard's counters, merged into one profile.
    if (config.coverage) {
      merged.coverage =
          suite::summarize_coverage(*config.coverage, suite::raw_coverage_dirs(options.dirs), common.report_dir);
    }
    log_reasons(merged);
    log::info(fmt::format("merged {} shard report(s): {}", options.dirs.size(), exit_code_name(merged.exit_code)));
    share_durations(session, merged);  // whatever the verdict: the next plan needs them
    if (merged.exit_code != ExitCode::passed) return;
    // The fan-in's verdict is the whole verification: record it, by the
    // rule of every command (a failure to record warns; an interrupt stops
    // the merge, and its verdict says so).
    registry::Client* registry = nullptr;
    try {
      registry = &session.registry();
    } catch (const InfraError& e) {
      log::warn(fmt::format("could not reach the registry to attach the verification record: {}", e.what()));
    }
    if (registry) record_verification(*registry, config, merged);
  });
}

}  // namespace gate::pipeline

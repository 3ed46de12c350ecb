// The fan-in: one verdict from the verdicts of every shard job. A missing or
// duplicated shard, shards that tested different digests or consumer
// commits, or a shard that ran no test is an infrastructure error (exit 3),
// never green: a skipped CI job must not pass as a green check.
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>

#include "config/config.h"
#include "core/error.h"
#include "core/log.h"
#include "pipeline/decide.h"
#include "pipeline/session.h"
#include "registry/reference.h"
#include "report/renderers.h"
#include "suite/coverage.h"
#include "suite/evidence.h"
#include "suite/timings.h"
#include "version.h"

namespace gate::pipeline {
namespace {

report::Verdict read_shard(const std::filesystem::path& dir) {
  auto file = dir / "verdict.json";
  std::ifstream in(file);
  if (!in) throw InfraError(fmt::format("merge: no verdict.json in {} (that shard's results are missing)", dir.string()));
  report::Verdict verdict;
  try {
    verdict = report::verdict_from_json(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception& e) {
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

std::pair<int, int> shard_of(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return {1, 1};
  return {std::atoi(text.c_str()), std::atoi(text.c_str() + slash + 1)};
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

}  // namespace

ExitCode merge(const Options& options) {
  config::Config config = config::load_config(options.config_file);
  if (options.merge_dirs.empty()) throw UsageError("merge needs the shards' report directories");
  report::Verdict merged;
  merged.gate_version = kGateVersion;
  merged.command = "merge";
  merged.config_file = options.config_file.string();
  merged.dry_run = true;
  try {
    std::vector<std::pair<std::filesystem::path, report::Verdict>> shards;
    for (const auto& dir : options.merge_dirs) shards.emplace_back(dir, read_shard(dir));
    // One candidate digest for all.
    for (const auto& [dir, v] : shards) {
      if (v.candidate.digest.empty()) {
        throw InfraError(fmt::format("merge: the shard in {} tested no candidate ({})", dir.string(),
                                     v.error.empty() ? "no digest" : v.error));
      }
      if (merged.candidate.digest.empty()) {
        merged.candidate = v.candidate;
        merged.tags_seen = v.tags_seen;
        merged.publish_repository = v.publish_repository;
      } else if (v.candidate.digest != merged.candidate.digest) {
        throw InfraError(fmt::format("merge: shards tested different digests: {} in {}, {} in {}",
                                     merged.candidate.digest, shards.front().first.string(), v.candidate.digest,
                                     dir.string()));
      }
    }
    // Every consumer of the config, every shard of it exactly once, one commit.
    std::map<std::string, std::vector<std::pair<std::filesystem::path, const report::ConsumerResult*>>> by_consumer;
    for (const auto& [dir, v] : shards) {
      for (const auto& c : v.consumers) by_consumer[c.name].emplace_back(dir, &c);
    }
    for (const auto& consumer : config.consumers) {
      auto it = by_consumer.find(consumer.name);
      if (it == by_consumer.end()) {
        throw InfraError(fmt::format("merge: no shard reported consumer '{}' (its job did not run)", consumer.name));
      }
      const auto& parts = it->second;
      int count = 0;
      std::set<int> seen;
      report::ConsumerResult whole;
      whole.name = consumer.name;
      whole.status = report::ConsumerStatus::passed;
      for (const auto& [dir, part] : parts) {
        auto [k, n] = shard_of(part->shard);
        if (count == 0) count = n;
        if (n != count) {
          throw InfraError(fmt::format("merge: consumer '{}' was split {} ways in one shard and {} in {}", consumer.name,
                                       count, n, dir.string()));
        }
        if (!seen.insert(k).second) {
          throw InfraError(fmt::format("merge: shard {}/{} of consumer '{}' appears twice (again in {})", k, n,
                                       consumer.name, dir.string()));
        }
        if (whole.commit.empty()) {
          whole.commit = part->commit;
          whole.repo = part->repo;
          whole.ref = part->ref;
        } else if (part->commit != whole.commit) {
          throw InfraError(fmt::format("merge: shards of consumer '{}' tested different commits: {} and {} (in {})",
                                       consumer.name, whole.commit, part->commit, dir.string()));
        }
        bool engine = consumer.runner != "command";
        if (part->status == report::ConsumerStatus::not_run || (engine && part->tests.empty() && part->passed())) {
          throw InfraError(fmt::format("merge: shard {} of consumer '{}' in {} ran no test", part->shard.empty() ? "1/1" : part->shard,
                                       consumer.name, dir.string()));
        }
        whole.tests.insert(whole.tests.end(), part->tests.begin(), part->tests.end());
        whole.tests_omitted += part->tests_omitted;
        whole.tests_planned += part->tests_planned;
        whole.seconds = std::max(whole.seconds, part->seconds);
        whole.profile["shards"][part->shard.empty() ? "1/1" : part->shard] = part->seconds;
        for (const auto& reason : part->reasons) {
          whole.reasons.push_back(part->shard.empty() ? reason : fmt::format("[shard {}] {}", part->shard, reason));
        }
        if (!part->passed() && whole.passed()) whole.status = part->status;
        whole.submodules = part->submodules;
        suite::join_baseline(whole.baseline, part->baseline, part->shard);
        whole.phases.insert(whole.phases.end(), part->phases.begin(), part->phases.end());
      }
      for (int k = 1; k <= count; ++k) {
        if (!seen.count(k)) {
          throw InfraError(fmt::format("merge: shard {}/{} of consumer '{}' is missing (its job did not run or its "
                                       "results were not collected)",
                                       k, count, consumer.name));
        }
      }
      whole.shard = count > 1 ? fmt::format("{} shards", count) : "";
      // The evidence rules over the whole consumer, not shard by shard.
      suite::judge_joined_shards(config, consumer, whole);
      const auto store_file = suite::timings_file(cache_dir_of(options), consumer.name);
      check_missing_across_shards(config, consumer, suite::load_store(store_file), whole);
      merged.consumers.push_back(std::move(whole));
      // The fan-in records what every shard learnt for the next run's plan.
      suite::update_store(store_file, suite::lessons_of(consumer, merged.consumers.back()));
    }
    decide(merged);
    // Coverage: every shard's counters, merged into one profile.
    if (config.coverage) {
      std::vector<std::filesystem::path> shard_dirs(options.merge_dirs.begin(), options.merge_dirs.end());
      merged.coverage = suite::summarize_coverage(*config.coverage, suite::raw_coverage_dirs(shard_dirs), options.report_dir);
    }
    if (merged.exit_code == ExitCode::passed) {
      // The fan-in's verdict is the whole verification: record it (the same
      // rule as every command: a failure to record warns; an interrupt stops
      // the merge, and its verdict says so).
      std::optional<registry::Client> registry;
      try {
        registry.emplace(repository_of(config).registry, client_options(options, config));
      } catch (const InfraError& e) {
        log::warn(fmt::format("could not reach the registry to attach the verification record: {}", e.what()));
      }
      if (registry) record_verification(*registry, config, merged);
    }
  } catch (const Error& e) {
    merged.exit_code = e.code();
    merged.error = e.what();
    merged.reasons.push_back(e.what());
    report::write_reports(merged, options.report_dir);
    throw;
  }
  report::write_reports(merged, options.report_dir);
  log_reasons(merged);
  log::info(fmt::format("merged {} shard report(s): {}; reports in {}", options.merge_dirs.size(),
                        exit_code_name(merged.exit_code), options.report_dir.string()));
  return merged.exit_code;
}

}  // namespace gate::pipeline

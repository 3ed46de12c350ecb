#include "suite/evidence.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/log.h"

namespace gate::suite {

Outcome classify(const report::TestCase& test, bool flaked, const Evidence& evidence) {
  using enum Outcome;
  if (test.timed_out) return timed_out;
  if (test.status == report::TestStatus::skipped) return skipped;
  const bool identical = evidence.baseline == "identical";
  const bool used = evidence.baseline == "used";
  const bool rescued = used && evidence.rescued.count(test.id()) > 0;
  if (test.status == report::TestStatus::passed || rescued) {
    if (!flaked && !rescued) return passed;
    if (identical) return flaky;  // the published image itself, observed flaky
    if (used) {
      auto it = evidence.baseline_counts.find(test.id());
      if (it != evidence.baseline_counts.end() && it->second.failures > 0) return flaky;
    }
    if (evidence.history && evidence.history->known_flaky(test.id())) return flaky;
    return newly_flaky;
  }
  if (identical) return pre_existing;
  if (used) {
    // The same failure: an assertion there is no evidence for an error here.
    auto it = evidence.on_baseline.find(test.id());
    if (it != evidence.on_baseline.end() && it->second == test.status) return pre_existing;
  }
  return test.status == report::TestStatus::error ? error : regression;
}

std::string selection_of(const config::Consumer& consumer) {
  return fmt::format("{} {} {}", config::runner_name(consumer.runner), fmt::join(consumer.tests, " "),
                     consumer.junit.value_or(""));
}

StoreUpdate lessons_of(const config::Consumer& consumer, const report::ConsumerResult& result) {
  StoreUpdate update;
  const std::string& baseline = result.baseline.status;
  for (const auto& t : result.tests) {
    if (t.status != report::TestStatus::skipped && !t.timed_out) update.seconds.emplace_back(t.id(), t.seconds);
    // Flaky on a published image, as gate saw it: it failed and passed there.
    bool on_published = t.outcome == Outcome::flaky &&
                        (baseline == "identical" ||
                         (baseline == "used" && t.baseline_failures > 0 && t.baseline_failures < t.baseline_runs));
    if (on_published) update.flaky_on_published.push_back(t.id());
  }
  if (result.passed()) {
    LastPass pass;
    pass.commit = result.commit;
    pass.selection = selection_of(consumer);
    for (const auto& t : result.tests) {
      pass.tests.push_back(t.id());
      if (t.outcome == Outcome::pre_existing) pass.pre_existing.push_back(t.id());
    }
    update.last_pass = std::move(pass);
  }
  return update;
}

std::string over_pre_existing_limit(const config::Config& config, const config::Consumer& consumer,
                                    const report::ConsumerResult& result) {
  if (result.baseline.status == "identical") return "";  // the published image itself: nothing is excused
  size_t excused = std::count_if(result.tests.begin(), result.tests.end(),
                                 [](const auto& t) { return t.outcome == Outcome::pre_existing; });
  const config::Limit& limit = config::max_pre_existing(config, consumer);
  if (!limit.exceeded(excused, result.tests_planned)) return "";
  return fmt::format(
      "{} pre-existing failure(s), {:.1f}% of the {} selected test(s), exceed max_pre_existing ({}): "
      "a baseline that fails this much is no evidence that the candidate is good",
      excused, 100.0 * static_cast<double>(excused) / static_cast<double>(std::max<size_t>(result.tests_planned, 1)),
      result.tests_planned, limit.text());
}

namespace {

// How much an outcome lets through: the worse of two results of one test wins.
int severity(const report::TestCase& t) {
  if (t.blocks) return 4;
  if (excused(t.outcome)) return 2;
  if (t.outcome == Outcome::skipped) return 1;
  return 0;
}

// From least to most trustworthy: a joined baseline is as good as its worst part.
int trust(const std::string& status) {
  static const std::map<std::string, int> order{{"invalid", 0},   {"unavailable", 1}, {"used", 2},
                                                {"identical", 3}, {"not-needed", 4},  {"off", 5}};
  auto it = order.find(status);
  return it == order.end() ? 0 : it->second;
}

}  // namespace

std::vector<std::string> missing_since(const config::Consumer& consumer, const LastPass& last,
                                       const std::string& commit, const std::unordered_set<std::string_view>& ran) {
  if (last.selection != selection_of(consumer)) return {};
  if (consumer.knows_tests() && last.commit != commit) return {};
  std::vector<std::string> missing;
  for (const auto& test : last.tests) {
    if (!ran.count(test)) missing.push_back(test);
  }
  return missing;
}

bool note_missing(const config::Config& config, const config::Consumer& consumer, const LastPass& last,
                  std::vector<std::string> missing, report::ConsumerResult& result) {
  if (missing.empty()) return false;
  result.missing = std::move(missing);
  bool blocks = config::policy_blocks(config, consumer, Outcome::missing);
  std::vector<std::string> named(result.missing.begin(),
                                 result.missing.begin() + std::min<size_t>(result.missing.size(), 10));
  std::string text = fmt::format("{} test(s) that the last passing run (commit {}) reported did not run: {}{}",
                                 result.missing.size(), last.commit.substr(0, 12), fmt::join(named, ", "),
                                 result.missing.size() > named.size() ? ", ..." : "");
  if (blocks)
    result.reasons.push_back(text + " (missing)");
  else
    log::warn(fmt::format("{}: {} (policy missing: warn)", consumer.name, text));
  return blocks;
}

void judge_joined_shards(const config::Config& config, const config::Consumer& consumer,
                         report::ConsumerResult& whole) {
  std::map<std::string, size_t> index;
  std::vector<report::TestCase> joined;
  for (auto& t : whole.tests) {
    auto [it, fresh] = index.emplace(t.id(), joined.size());
    if (fresh) {
      joined.push_back(std::move(t));
    } else if (severity(t) > severity(joined[it->second])) {
      joined[it->second] = std::move(t);
    }
  }
  whole.tests = std::move(joined);
  if (std::string reason = over_pre_existing_limit(config, consumer, whole); !reason.empty()) {
    whole.reasons.push_back(reason);
    whole.status = report::ConsumerStatus::failed;
  }
}

void join_baseline(report::BaselineReport& whole, const report::BaselineReport& part, const std::string& shard) {
  if (trust(part.status) < trust(whole.status)) {
    whole.status = part.status;
    whole.reason = shard.empty() ? part.reason : fmt::format("[shard {}] {}", shard, part.reason);
  }
  if (whole.digest.empty()) whole.digest = part.digest;
  whole.tests_rerun += part.tests_rerun;
  whole.executions += part.executions;
}

}  // namespace gate::suite

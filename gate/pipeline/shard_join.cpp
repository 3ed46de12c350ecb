#include "pipeline/shard_join.h"

#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "core/error.h"
#include "suite/evidence.h"

namespace gate::pipeline {
namespace {

std::pair<int, int> shard_of(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return {1, 1};
  return {std::atoi(text.c_str()), std::atoi(text.c_str() + slash + 1)};
}

std::string shard_name(const report::ConsumerResult& part) { return part.shard.empty() ? "1/1" : part.shard; }

// One candidate digest for all.
void join_candidates(const std::vector<ShardReport>& shards, report::Verdict& merged) {
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
                                   merged.candidate.digest, shards.front().dir.string(), v.candidate.digest,
                                   dir.string()));
    }
  }
}

using Parts = std::vector<std::pair<std::filesystem::path, const report::ConsumerResult*>>;

// Adds one shard's part of a consumer to the whole.
// `split`: the split of the consumer's shards that ran tests ("" none did).
void add_part(const config::Consumer& consumer, const std::filesystem::path& dir, const report::ConsumerResult& part,
              const std::string& split, report::ConsumerResult& whole) {
  if (whole.commit.empty()) {
    whole.commit = part.commit;
    whole.repo = part.repo;
    whole.ref = part.ref;
    whole.timings = part.timings;
  } else if (part.commit != whole.commit) {
    throw InfraError(fmt::format("merge: shards of consumer '{}' tested different commits: {} and {} (in {})",
                                 consumer.name, whole.commit, part.commit, dir.string()));
  } else if (part.timings != whole.timings) {
    // Splits planned from different durations need not cover each test once.
    throw InfraError(
        fmt::format("merge: shards of consumer '{}' were planned from different timing stores: {} and "
                    "{} (in {})",
                    consumer.name, whole.timings.empty() ? "none" : whole.timings,
                    part.timings.empty() ? "none" : part.timings, dir.string()));
  }
  bool knows_tests = consumer.knows_tests();
  // A shard without tests passes only where the split every other shard
  // agrees on gave it none: otherwise it may have silently run nothing.
  bool given_nothing = !split.empty() && part.split == split && part.tests_planned == 0;
  if (part.status == report::ConsumerStatus::not_run ||
      (knows_tests && part.tests.empty() && part.passed() && !given_nothing)) {
    throw InfraError(fmt::format("merge: shard {} of consumer '{}' in {} ran no test", shard_name(part), consumer.name,
                                 dir.string()));
  }
  whole.tests.insert(whole.tests.end(), part.tests.begin(), part.tests.end());
  whole.tests_omitted += part.tests_omitted;
  whole.tests_planned += part.tests_planned;
  whole.seconds = std::max(whole.seconds, part.seconds);
  whole.profile["shards"][shard_name(part)] = part.seconds;
  for (const auto& reason : part.reasons) {
    whole.reasons.push_back(part.shard.empty() ? reason : fmt::format("[shard {}] {}", part.shard, reason));
  }
  if (!part.passed() && whole.passed()) whole.status = part.status;
  whole.submodules = part.submodules;
  suite::join_baseline(whole.baseline, part.baseline, part.shard);
  whole.phases.insert(whole.phases.end(), part.phases.begin(), part.phases.end());
}

// Every shard of the consumer exactly once, all split the same way.
report::ConsumerResult join_consumer(const config::Config& config, const config::Consumer& consumer,
                                     const Parts& parts) {
  int count = 0;
  std::set<int> seen;
  report::ConsumerResult whole;
  whole.name = consumer.name;
  whole.status = report::ConsumerStatus::passed;
  // Every shard that ran tests must have split the same collection the
  // same way: otherwise a test may have run in no shard at all.
  const report::ConsumerResult* first_split = nullptr;
  for (const auto& [dir, part] : parts) {
    if (part->tests.empty()) continue;
    if (!first_split) {
      first_split = part;
    } else if (part->timings == first_split->timings && part->split != first_split->split) {
      // (Other pins are refused in add_part, by name: the likelier cause.)
      throw InfraError(
          fmt::format("merge: shards {} and {} of consumer '{}' split its tests differently ({} and {}: they "
                      "collected other tests or priced them from other timing stores), so some test may have run "
                      "in no shard; run every shard of the consumer again from one plan",
                      shard_name(*first_split), shard_name(*part), consumer.name,
                      first_split->split.empty() ? "none" : first_split->split.substr(0, 19),
                      part->split.empty() ? "none" : part->split.substr(0, 19)));
    }
  }
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
    add_part(consumer, dir, *part, first_split ? first_split->split : std::string(), whole);
  }
  for (int k = 1; k <= count; ++k) {
    if (!seen.count(k)) {
      throw InfraError(
          fmt::format("merge: shard {}/{} of consumer '{}' is missing (its job did not run or its "
                      "results were not collected)",
                      k, count, consumer.name));
    }
  }
  whole.shard = count > 1 ? fmt::format("{} shards", count) : "";
  // The evidence rules over the whole consumer, not shard by shard.
  suite::judge_joined_shards(config, consumer, whole);
  return whole;
}

}  // namespace

void join_shards(const config::Config& config, const std::vector<ShardReport>& shards, report::Verdict& merged) {
  join_candidates(shards, merged);
  std::map<std::string, Parts> by_consumer;
  for (const auto& [dir, v] : shards) {
    for (const auto& c : v.consumers) by_consumer[c.name].emplace_back(dir, &c);
  }
  for (const auto& consumer : config.consumers) {
    auto it = by_consumer.find(consumer.name);
    if (it == by_consumer.end()) {
      throw InfraError(fmt::format("merge: no shard reported consumer '{}' (its job did not run)", consumer.name));
    }
    merged.consumers.push_back(join_consumer(config, consumer, it->second));
  }
}

}  // namespace gate::pipeline

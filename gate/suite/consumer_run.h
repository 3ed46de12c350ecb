#pragma once
// Running one consumer's setup and integration subset against the candidate,
// and judging the outcome.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/engine.h"
#include "git/checkout.h"
#include "report/model.h"

namespace gate::suite {

struct RunContext {
  config::Values placeholders;  // CANDIDATE, CANDIDATE_REF, ... for this run
  std::filesystem::path report_dir;
  const engine::Engine* engine = nullptr;
  // References of the candidate image; containers created from it during the
  // consumer's run are removed afterwards, whatever happened.
  std::vector<std::string> candidate_refs;
  const config::Config* config = nullptr;  // for the top-level policy
  // The published image failures are compared with (baseline: true); empty
  // when no publish tag exists yet.
  std::optional<config::Values> baseline_placeholders;
  std::string baseline_digest;
  int shard_index = 1;  // this machine's shard, 1-based
  int shard_count = 0;  // 0: the consumer's `shards`, all run here
  std::filesystem::path cache_dir;  // the timing store lives there
};

// Runs setup then run in the checkout. Throws Interrupted (after cleaning
// up) when gate is interrupted; every other outcome is in the result.
report::ConsumerResult run_consumer(const config::Consumer& consumer, const git::Checkout& checkout,
                                    const RunContext& context);

// The decision for one consumer from its process result and test cases:
// pure, so it is tested on its own.
struct Judgement {
  report::ConsumerStatus status;
  std::vector<std::string> reasons;
};
Judgement judge(int exit_code, bool junit_configured, const std::vector<report::TestCase>& tests);

}  // namespace gate::suite

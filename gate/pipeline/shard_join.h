#pragma once
// The fan-in's rules (internal to gate/pipeline; merge.cpp reads the files
// and records the result): the shards' verdicts joined into one verdict of
// every consumer of the config. What does not make a whole is an
// infrastructure error (InfraError, exit 3) naming the shard, never green:
// a skipped CI job must not pass as a green check.
//   - a shard that tested no candidate, or shards that tested different digests;
//   - a consumer of the config that no shard reported;
//   - a consumer split N ways in one shard and M in another;
//   - a shard that appears twice, or one that is missing;
//   - shards of one consumer that tested different commits, or were planned
//     from different shared timing stores (shared_timings.h);
//   - a shard that ran no test (a runner that knows tests) or did not run.
#include <filesystem>
#include <vector>

#include "config/config.h"
#include "report/model.h"

namespace gate::pipeline {

struct ShardReport {
  std::filesystem::path dir;  // where it was read from, for messages
  report::Verdict verdict;
};

// Fills `merged`: the candidate and the tags seen, then one result per
// consumer of the config, judged over the whole consumer (suite::judge_joined_shards).
void join_shards(const config::Config& config, const std::vector<ShardReport>& shards, report::Verdict& merged);

}  // namespace gate::pipeline

#pragma once
// How a test's runs become its outcome. Every outcome that lets a failure
// through needs evidence gate observed itself; without it, the failure
// counts:
//   pre-existing  failed on the candidate after its retries, and failed the
//                 same way (a failure, or an error) on the published image
//                 in a valid baseline rerun after its own retries (or the
//                 candidate is the published image)
//   flaky         failed, then passed on the candidate; and also failed on
//                 the published image (its replay or the reruns that look
//                 for a failure there), or the timing store saw it flaky on
//                 a published image before. A test that failed on the
//                 candidate every time is flaky only if it failed and passed
//                 on the published image and then passed on the candidate
//                 when rerun there.
//   newly-flaky   failed, then passed on the candidate, with no such evidence
//   regression / error   any other failure
// Pure functions, unit-tested on their own.
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "config/config.h"
#include "report/model.h"
#include "suite/timings.h"

namespace gate::suite {

// Runs and failures of one test in a series of reruns.
struct RunCount {
  int runs = 0;
  int failures = 0;
};

struct Evidence {
  // The baseline's status (report::BaselineReport): only "used" and
  // "identical" are evidence.
  std::string baseline = "off";
  // Tests that completed on the baseline: their status after their own
  // retries (passed: a pass on any attempt).
  std::map<std::string, report::TestStatus> on_baseline;
  // Every completed run on the baseline (replay, retries, and the reruns
  // that looked for a failure there).
  std::map<std::string, RunCount> baseline_counts;
  // Tests that failed on the candidate every time, were seen flaky on the
  // baseline, and then passed on the candidate when rerun: flaky on both.
  std::set<std::string> rescued;
  // Candidate reruns of those (for the report).
  std::map<std::string, RunCount> recheck;
  const TimingStore* history = nullptr;
};

// The outcome of a test from its result on the candidate (after retries)
// and whether it passed only on a retry.
Outcome classify(const report::TestCase& test, bool flaked, const Evidence& evidence);

// The runner and test selection a consumer runs (the last passing run's
// tests are compared only under the same selection).
std::string selection_of(const config::Consumer& consumer);

// What the timing store learns from a consumer's result: durations, tests
// gate saw flaky on a published image, and (when it passed) the tests it
// reported with its pre-existing failures.
StoreUpdate lessons_of(const config::Consumer& consumer, const report::ConsumerResult& result);

// The reason a consumer blocks on too many pre-existing failures, or "".
std::string over_pre_existing_limit(const config::Config& config, const config::Consumer& consumer,
                                    const report::ConsumerResult& result);

// The fan-in's view of one consumer, from its shards' results joined in
// `whole`: a test reported by several shards takes its worst outcome (a
// failure pre-existing in one and a regression in another is a
// regression), the shards' baselines join (the least trustworthy status
// wins), and max_pre_existing applies to the whole.
// Tests the last passing run reported that this one (`ran`) did not, when
// the two compare: the same selection and, for a listing runner, the same
// commit (there the listing itself says what exists).
std::vector<std::string> missing_since(const config::Consumer& consumer, const LastPass& last,
                                       const std::string& commit, const std::unordered_set<std::string_view>& ran);
// Records them in `result` (a reason when the policy blocks, else a
// warning); returns whether the policy blocks.
bool note_missing(const config::Config& config, const config::Consumer& consumer, const LastPass& last,
                  std::vector<std::string> missing, report::ConsumerResult& result);

void judge_joined_shards(const config::Config& config, const config::Consumer& consumer, report::ConsumerResult& whole);
void join_baseline(report::BaselineReport& whole, const report::BaselineReport& part, const std::string& shard);

}  // namespace gate::suite

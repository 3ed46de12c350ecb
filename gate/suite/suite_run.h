#pragma once
// The suite engine for runners that know single tests: enumerate, take this
// shard's duration-balanced share, run it on parallel workers, rerun
// failures (retries, then against the published baseline), and classify
// every test by the policy.
#include "config/config.h"
#include "process/runner.h"
#include "report/model.h"
#include "suite/consumer_run.h"
#include "suite/runner.h"

namespace gate::suite {

void run_suite(const config::Consumer& consumer, Runner& runner, RunEnv env, const RunContext& context,
               report::ConsumerResult& result);

// Outcome of a test from its runs: pure, for the tests.
//   final: the status after retries; retried_pass: passed on a retry;
//   baseline: nullopt = not compared, true = fails on the baseline too.
std::string classify(report::TestStatus final, bool timed_out, bool retried_pass, std::optional<bool> fails_on_baseline);

}  // namespace gate::suite

#pragma once
// Running one consumer against the candidate and, where failures need the
// comparison, against the published baseline; then judging the outcome.
#include <string>
#include <vector>

#include "config/config.h"
#include "git/checkout.h"
#include "report/model.h"
#include "suite/run_context.h"

namespace gate::suite {

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

#include "suite/evidence.h"

namespace gate::suite {

std::string classify(const report::TestCase& test, bool passed_on_retry, const Evidence& evidence) {
  if (test.timed_out) return "timed-out";
  if (test.status == report::TestStatus::skipped) return "skipped";
  const bool identical = evidence.baseline == "identical";
  const bool used = evidence.baseline == "used";
  if (test.status == report::TestStatus::passed) {
    if (!passed_on_retry) return "passed";
    if (identical) return "flaky";  // the published image itself, observed flaky
    if (used) {
      auto it = evidence.baseline_confirm.find(test.id());
      if (it != evidence.baseline_confirm.end() && it->second.failures > 0) return "flaky";
    }
    if (evidence.history && evidence.history->known_flaky(test.id())) return "flaky";
    return "newly-flaky";
  }
  if (identical) return "pre-existing";
  if (used) {
    auto it = evidence.fails_on_baseline.find(test.id());
    if (it != evidence.fails_on_baseline.end() && it->second) return "pre-existing";
  }
  return test.status == report::TestStatus::error ? "error" : "regression";
}

}  // namespace gate::suite

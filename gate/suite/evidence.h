#pragma once
// How a test's runs become its outcome. Every outcome that lets a failure
// through needs evidence gate observed itself; without it, the failure
// counts:
//   pre-existing  failed on the candidate after its retries, and failed on
//                 the published image in a valid baseline rerun after its
//                 own retries (or the candidate is the published image)
//   flaky         failed, then passed on the candidate; and also failed in
//                 the confirmation reruns on the published image, or the
//                 timing store saw it flaky on a published image before
//   newly-flaky   failed, then passed on the candidate, with no such evidence
//   regression / error   any other failure
// Pure functions, unit-tested on their own.
#include <map>
#include <string>
#include <utility>

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
  // Tests that completed on the baseline: true = failed on every attempt.
  std::map<std::string, bool> fails_on_baseline;
  // Confirmation reruns on the baseline of the tests that failed, then passed.
  std::map<std::string, RunCount> baseline_confirm;
  const TimingStore* history = nullptr;
};

// The outcome of a test from its result on the candidate (after retries)
// and whether it passed only on a retry.
std::string classify(const report::TestCase& test, bool passed_on_retry, const Evidence& evidence);

}  // namespace gate::suite

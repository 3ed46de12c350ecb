#pragma once
// The search of `gate bisect`, apart from building and running: which
// commit to probe next, and what a probe's repeated runs say. Pure, so the
// rules against flakes are unit-tested on their own.
#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace gate::pipeline {

// A test's runs at one image: how many, and how many failed (or did not
// report a pass: a test missing from a run counts as failed).
struct TestRuns {
  int runs = 0;
  int failures = 0;
};
using ProbeRuns = std::map<std::string, TestRuns>;  // "consumer::test id" -> runs

// What a probe says about the tests still suspected.
struct ProbeJudgement {
  bool bad = false;                 // a suspect failed every run
  std::vector<std::string> broken;  // the suspects that failed every run
  std::vector<std::string> flaky;   // passed some runs and failed others: no longer suspects
};
// Judges the probe and drops from `suspects` the tests it showed flaky, as
// Bazel's culprit finder does: only a test that fails every run or passes
// every run says which side of the break a commit is on.
ProbeJudgement judge_probe(const ProbeRuns& runs, std::set<std::string>& suspects);

struct SearchResult {
  size_t first_bad = 0;             // index into the commits
  std::vector<size_t> probed;       // in the order probed
  std::vector<std::string> broken;  // the suspects broken at first_bad
  std::vector<std::string> flaky;   // dropped on the way
  bool suspects_left = true;        // false: every suspect turned out flaky, first_bad means nothing
};
// Commits 0..count-1, oldest first, after a good one and ending with the
// bad one (count - 1, not probed again). `probe(i)` runs the suspects at
// commit i. Binary search: at most ceil(log2(count)) probes.
SearchResult find_first_bad(size_t count, std::set<std::string> suspects,
                            const std::function<ProbeRuns(size_t)>& probe);

}  // namespace gate::pipeline

#include "pipeline/bisect_search.h"

namespace gate::pipeline {

ProbeJudgement judge_probe(const ProbeRuns& runs, std::set<std::string>& suspects) {
  ProbeJudgement judgement;
  for (auto it = suspects.begin(); it != suspects.end();) {
    auto found = runs.find(*it);
    // Not reported at all: it did not pass, every run.
    const TestRuns seen = found == runs.end() ? TestRuns{1, 1} : found->second;
    if (seen.runs > 0 && seen.failures == seen.runs) {
      judgement.broken.push_back(*it);
    } else if (seen.failures > 0) {
      judgement.flaky.push_back(*it);
      it = suspects.erase(it);
      continue;
    }
    ++it;
  }
  judgement.bad = !judgement.broken.empty();
  return judgement;
}

SearchResult find_first_bad(size_t count, std::set<std::string> suspects,
                            const std::function<ProbeRuns(size_t)>& probe) {
  SearchResult result;
  result.first_bad = count - 1;
  // Invariant: the commit before `low` is good (the one before all of them
  // at first), commit `high` is bad.
  size_t low = 0, high = count - 1;
  while (low < high) {
    const size_t mid = low + (high - low) / 2;
    result.probed.push_back(mid);
    ProbeJudgement judgement = judge_probe(probe(mid), suspects);
    result.flaky.insert(result.flaky.end(), judgement.flaky.begin(), judgement.flaky.end());
    if (suspects.empty()) {
      result.suspects_left = false;
      return result;
    }
    if (judgement.bad) {
      high = mid;
      result.broken = judgement.broken;
    } else {
      low = mid + 1;
    }
  }
  result.first_bad = high;
  if (result.broken.empty() || high == count - 1) result.broken.assign(suspects.begin(), suspects.end());
  return result;
}

}  // namespace gate::pipeline

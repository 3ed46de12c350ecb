#pragma once
// Running work items on parallel workers with work stealing: each worker
// starts with a duration-balanced share, takes half of what it has left per
// batch (one process per batch), and when it runs dry takes half of the
// largest remaining share of another worker.
#include <chrono>
#include <string>
#include <vector>

#include "report/model.h"
#include "suite/runner.h"
#include "suite/shard_plan.h"

namespace gate::suite {

struct WorkerStats {
  size_t worker = 0;  // 1-based
  double busy = 0;    // seconds running batches
  size_t batches = 0;
};

struct ScheduleResult {
  std::vector<WorkerStats> workers;
  double wall = 0;  // seconds from the first batch to the last worker's end
  std::vector<report::TestCase> tests;
  std::vector<std::string> errors;  // batches that failed as a whole
  size_t batches = 0;
};

// Throws Interrupted (after every worker stopped) when gate is interrupted.
// `names`: the tests the items' positions refer to.
ScheduleResult run_items(Runner& runner, const RunEnv& env, const std::vector<std::string>& names,
                         std::vector<WorkItem> items, size_t workers, std::chrono::milliseconds test_timeout,
                         const std::string& phase);

}  // namespace gate::suite

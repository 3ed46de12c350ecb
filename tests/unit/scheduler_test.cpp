// The scheduler through a runner of its own (no process, no docker): work
// stealing, tests after a hung one requeued, every test run once.
#include "suite/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace gate::suite;
using gate::report::TestCase;
using gate::report::TestStatus;

namespace {

// Runs each test by sleeping what `slow` says (ms); "hang" hangs: it is
// reported timed out and the tests after it in its batch come back unrun.
class FakeRunner : public Runner {
 public:
  std::map<std::string, int> slow;
  int batch_ms = 0;                                            // what starting a batch costs
  std::map<std::string, std::vector<std::string>> batches_of;  // test -> batch names it ran in
  std::mutex mutex;

  std::vector<std::string> enumerate(const RunEnv&) override { return {}; }
  BatchResult run_batch(const RunEnv&, const TestNames& tests, std::chrono::milliseconds,
                        const std::string& batch) override {
    BatchResult out;
    std::this_thread::sleep_for(std::chrono::milliseconds(batch_ms));
    for (size_t i = 0; i < tests.size(); ++i) {
      std::string name(tests[i]);
      {
        std::lock_guard lock(mutex);
        batches_of[name].push_back(batch);
      }
      if (name == "hang") {
        out.tests.push_back(timed_out_test("fake", name, std::chrono::milliseconds(10)));
        for (size_t k = i + 1; k < tests.size(); ++k) out.not_run.emplace_back(tests[k]);
        return out;
      }
      if (auto s = slow.find(name); s != slow.end()) std::this_thread::sleep_for(std::chrono::milliseconds(s->second));
      out.tests.push_back({"", name, TestStatus::passed, 0, "", ""});
    }
    return out;
  }
};

std::vector<std::string> names(size_t n, const std::string& prefix) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

}  // namespace

TEST(Scheduler, AnIdleWorkerStealsFromABusyOne) {
  // Priced alike, so the shares alternate: worker 1 gets the even tests,
  // which are slow; worker 2 the odd ones, which are not. Worker 2 runs dry
  // first and must take from worker 1's share.
  std::vector<std::string> tests = names(16, "t");
  FakeRunner runner;
  for (size_t i = 0; i < tests.size(); ++i) runner.slow[tests[i]] = i % 2 == 0 ? 40 : 0;
  const std::vector<double> prices(tests.size(), 3.0);  // above the minimum batch: several batches per worker
  auto shares = balance(make_items(tests, prices, {}), 2);
  for (const auto& item : shares[0]) ASSERT_EQ(item.tests.front() % 2, 0u) << "the first share is not the slow tests";
  RunEnv env;
  auto result = run_items(runner, env, tests, make_items(tests, prices, {}), 2, std::chrono::milliseconds(0), "run");
  ASSERT_EQ(result.tests.size(), tests.size());
  size_t stolen = 0;
  for (size_t i = 0; i < tests.size(); ++i) {
    ASSERT_EQ(runner.batches_of[tests[i]].size(), 1u) << tests[i] << " did not run exactly once";
    if (i % 2 == 0 && runner.batches_of[tests[i]][0].find("-w2-") != std::string::npos) ++stolen;
  }
  EXPECT_GT(stolen, 0u) << "no slow test was taken by the idle worker";
}

TEST(Scheduler, TestsAfterAHungOneRunAgainOnce) {
  std::vector<std::string> tests{"a", "hang", "b", "c"};
  FakeRunner runner;
  RunEnv env;
  auto result = run_items(runner, env, tests, make_items(tests, {}, {}), 1, std::chrono::milliseconds(10), "run");
  std::map<std::string, TestCase> by_name;
  for (const auto& t : result.tests) by_name[t.name] = t;
  ASSERT_EQ(by_name.size(), 4u);
  EXPECT_TRUE(by_name["hang"].timed_out);
  for (const char* t : {"a", "b", "c"}) {
    EXPECT_EQ(by_name[t].status, TestStatus::passed) << t;
    EXPECT_EQ(runner.batches_of[t].size(), 1u) << t << ": not run exactly once";
  }
  EXPECT_EQ(result.tests.size(), 4u);
}

TEST(Scheduler, ACorrectedGuessKeepsAColdRunToAFewBatches) {
  // Nothing known of the consumer: 2,000 tests priced at the guess (1 s
  // each) and run in ~no time. Halving the guessed work down to the
  // minimum batch would take ~20 batches; corrected by what the first
  // batches took, the rest goes in a few.
  std::vector<std::string> tests = names(2000, "t");
  FakeRunner runner;
  runner.batch_ms = 20;  // a process start: both workers are under way before the first batch ends
  auto items = make_items(tests, {}, {});
  ASSERT_TRUE(items.front().guessed);
  RunEnv env;
  auto result = run_items(runner, env, tests, std::move(items), 2, std::chrono::milliseconds(0), "run");
  ASSERT_EQ(result.tests.size(), tests.size());
  EXPECT_LE(result.batches, 6u);
  // Known prices are not corrected: 200 tests measured at 3 s are 3 s each.
  std::vector<std::string> measured = names(200, "m");
  FakeRunner again;
  auto known = run_items(again, env, measured, make_items(measured, std::vector<double>(200, 3.0), {}), 2,
                         std::chrono::milliseconds(0), "run");
  EXPECT_GE(known.batches, 10u);
}

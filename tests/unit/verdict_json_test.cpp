#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/renderers.h"

using namespace gate::report;

namespace {

Verdict verdict_with(size_t passing, std::vector<size_t> failing_at) {
  Verdict v;
  v.candidate = {"127.0.0.1:5000/acme/emu", "", "sha256:abc"};
  v.exit_code = gate::ExitCode::blocked;
  ConsumerResult c;
  c.name = "big";
  c.status = ConsumerStatus::failed;
  for (size_t i = 0; i < passing + failing_at.size(); ++i) {
    TestCase t;
    t.classname = "tests.m";
    t.name = "test_" + std::to_string(i);
    t.seconds = 0.001;
    bool fails = std::find(failing_at.begin(), failing_at.end(), i) != failing_at.end();
    t.status = fails ? TestStatus::failed : TestStatus::passed;
    t.outcome = fails ? "regression" : "passed";
    t.blocks = fails;
    c.tests.push_back(t);
  }
  v.consumers.push_back(c);
  return v;
}

}  // namespace

TEST(VerdictJson, ListsEveryTestUpToTheBound) {
  auto json = to_json(verdict_with(100, {7}));
  EXPECT_EQ(json["consumers"][0]["tests"].size(), 101u);
  EXPECT_EQ(json["consumers"][0]["tests_omitted"], 0);
}

TEST(VerdictJson, BeyondTheBoundFailuresAreListedAndPassesCounted) {
  const size_t total = kListedTests + 15000;
  auto json = to_json(verdict_with(total - 3, {5, kListedTests + 100, total - 1}));
  const auto& c = json["consumers"][0];
  ASSERT_EQ(c["tests"].size(), kListedTests);
  EXPECT_EQ(c["tests_omitted"], total - kListedTests);
  EXPECT_EQ(c["counts"]["tests"], total);
  EXPECT_EQ(c["counts"]["failed"], 3);
  size_t listed_failures = 0;
  for (const auto& t : c["tests"]) listed_failures += t["status"] == "failed";
  EXPECT_EQ(listed_failures, 3u) << "a failure beyond the bound must still be listed";
  // Read back (the fan-in) and written again: the counts survive.
  Verdict again = verdict_from_json(json);
  EXPECT_EQ(again.consumers[0].tests_omitted, total - kListedTests);
  auto json2 = to_json(again);
  EXPECT_EQ(json2["consumers"][0]["counts"]["tests"], total);
  EXPECT_EQ(json2["consumers"][0]["tests_omitted"], total - kListedTests);
}

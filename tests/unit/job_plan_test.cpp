// Packing consumer-shards into CI jobs: every unit in exactly one job, no
// job with two shards of one consumer, no more jobs than allowed, balanced
// by the estimates; and the plan file read back with clear refusals.
#include "pipeline/job_plan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"

using gate::pipeline::Job;
using gate::pipeline::pack_units;
using gate::pipeline::plan_shards;
using gate::pipeline::read_plan_file;
using gate::pipeline::Unit;

namespace {

std::vector<Unit> units_of(int consumers, int shards, double each = 1.0) {
  std::vector<Unit> units;
  for (int c = 0; c < consumers; ++c) {
    for (int k = 1; k <= shards; ++k) units.push_back({"c" + std::to_string(c), k, shards, each * (1 + c % 5)});
  }
  return units;
}

double load(const Job& job) {
  double sum = 0;
  for (const auto& u : job) sum += u.estimate;
  return sum;
}

std::filesystem::path write(const std::string& name, const std::string& text) {
  auto file = std::filesystem::temp_directory_path() / name;
  std::ofstream(file) << text;
  return file;
}

std::string refusal_of(const std::filesystem::path& file) {
  try {
    read_plan_file(file);
  } catch (const gate::UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(JobPlan, SixtyConsumersOfEightShardsFitTwoHundredJobsEachOnce) {
  auto jobs = pack_units(units_of(60, 8), 200);
  ASSERT_EQ(jobs.size(), 200u);
  std::map<std::string, int> seen;
  double total = 0, longest = 0;
  for (const auto& job : jobs) {
    std::set<std::string> consumers;
    for (const auto& u : job) {
      EXPECT_TRUE(consumers.insert(u.consumer).second) << "two shards of " << u.consumer << " in one job";
      ++seen[u.consumer + "/" + std::to_string(u.shard)];
    }
    total += load(job);
    longest = std::max(longest, load(job));
  }
  EXPECT_EQ(seen.size(), 480u);
  for (const auto& [unit, count] : seen) EXPECT_EQ(count, 1) << unit;
  // Longest-first onto the lightest job: within one unit of the mean.
  EXPECT_LE(longest, total / 200 + 5.0);
}

TEST(JobPlan, FewerUnitsThanJobsGiveOneJobEach) {
  auto jobs = pack_units(units_of(2, 3), 200);
  ASSERT_EQ(jobs.size(), 6u);
  for (const auto& job : jobs) EXPECT_EQ(job.size(), 1u);
  EXPECT_TRUE(pack_units({}, 200).empty());
}

TEST(JobPlan, TheSameUnitsPackTheSameWay) {
  auto a = pack_units(units_of(7, 3), 4);
  auto b = pack_units(units_of(7, 3), 4);
  ASSERT_EQ(a.size(), b.size());
  for (size_t j = 0; j < a.size(); ++j) {
    ASSERT_EQ(a[j].size(), b[j].size());
    for (size_t i = 0; i < a[j].size(); ++i) {
      EXPECT_EQ(a[j][i].consumer, b[j][i].consumer);
      EXPECT_EQ(a[j][i].shard, b[j][i].shard);
    }
  }
}

TEST(JobPlan, ShardsAreCappedByJobsAndByKnownTests) {
  EXPECT_EQ(plan_shards(8, 200, 0), 8);
  EXPECT_EQ(plan_shards(8, 3, 0), 3);
  EXPECT_EQ(plan_shards(8, 200, 2), 2);
  EXPECT_EQ(plan_shards(0, 200, 0), 1);
  EXPECT_THROW(pack_units(units_of(1, 4), 3), gate::UsageError);
}

TEST(JobPlan, ThePlanFileIsReadBackOrRefusedByName) {
  auto good = write("gate-plan-good.json",
                    R"({"run": true, "timings": {"a": ""}, "jobs": [[{"consumer": "a", "shard": 1, "shards": 2}],
                       [{"consumer": "a", "shard": 2, "shards": 2}, {"consumer": "b", "shard": 1, "shards": 1}]]})");
  auto plan = read_plan_file(good);
  ASSERT_EQ(plan.jobs.size(), 2u);
  auto units = gate::pipeline::units_of_job(plan, 2);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units.at("a").shard, 2);
  EXPECT_TRUE(gate::pipeline::units_of_job(plan, 3).empty());
  auto why = refusal_of(write("gate-plan-twice.json", R"({"timings": {}, "jobs": [[{"consumer": "a", "shard": 1,
      "shards": 2}, {"consumer": "a", "shard": 2, "shards": 2}]]})"));
  EXPECT_NE(why.find("gate-plan-twice.json: jobs[0] holds two shards of consumer 'a'"), std::string::npos) << why;
  why = refusal_of(
      write("gate-plan-bad-shard.json", R"({"timings": {}, "jobs": [[{"consumer": "a", "shard": 3, "shards": 2}]]})"));
  EXPECT_NE(why.find("shard 3/2 of 'a' is not K/N"), std::string::npos) << why;
  why = refusal_of(write("gate-plan-none.json", "[1, 2]"));
  EXPECT_NE(why.find("not JSON of a plan"), std::string::npos) << why;
  EXPECT_NE(refusal_of("/nonexistent/plan.json").find("cannot read it"), std::string::npos);
}

#include "pipeline/job_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace gate::pipeline {

std::vector<Job> pack_units(std::vector<Unit> units, int max_jobs) {
  if (units.empty()) return {};
  const size_t count = std::min(units.size(), static_cast<size_t>(std::max(1, max_jobs)));
  std::stable_sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) {
    if (a.estimate != b.estimate) return a.estimate > b.estimate;
    if (a.consumer != b.consumer) return a.consumer < b.consumer;
    return a.shard < b.shard;
  });
  std::vector<Job> jobs(count);
  std::vector<double> load(count, 0);
  std::vector<std::set<std::string>> holds(count);
  for (auto& unit : units) {
    size_t best = count;
    for (size_t j = 0; j < count; ++j) {
      if (holds[j].count(unit.consumer)) continue;
      if (best == count || load[j] < load[best]) best = j;
    }
    if (best == count) {
      throw UsageError(fmt::format("plan: consumer '{}' has {} shards, more than the {} job(s) allowed", unit.consumer,
                                   unit.shards, count));
    }
    load[best] += unit.estimate;
    holds[best].insert(unit.consumer);
    jobs[best].push_back(std::move(unit));
  }
  // Inside a job, in consumer order: its name and its runs read the same.
  for (auto& job : jobs) {
    std::sort(job.begin(), job.end(), [](const Unit& a, const Unit& b) { return a.consumer < b.consumer; });
  }
  return jobs;
}

int plan_shards(int wanted, int max_jobs, size_t known_tests) {
  int shards = std::max(1, std::min(wanted, std::max(1, max_jobs)));
  if (known_tests > 0 && known_tests < static_cast<size_t>(shards)) shards = static_cast<int>(known_tests);
  return shards;
}

namespace {

[[noreturn]] void bad_plan(const std::filesystem::path& file, const std::string& why) {
  throw UsageError(fmt::format("--plan {}: {} (write it with `gate plan --out`)", file.string(), why));
}

Job read_job(const std::filesystem::path& file, const nlohmann::json& entry, size_t index) {
  const std::string where = fmt::format("jobs[{}]", index);
  if (!entry.is_array()) bad_plan(file, where + " is not a list of units");
  Job job;
  std::set<std::string> consumers;
  for (const auto& u : entry) {
    if (!u.is_object() || !u.contains("consumer") || !u["consumer"].is_string() || !u.contains("shard") ||
        !u["shard"].is_number_integer() || !u.contains("shards") || !u["shards"].is_number_integer()) {
      bad_plan(file, where + " holds a unit that is not {consumer, shard, shards}");
    }
    Unit unit{u["consumer"].get<std::string>(), u["shard"].get<int>(), u["shards"].get<int>(), 0};
    if (unit.shards < 1 || unit.shard < 1 || unit.shard > unit.shards) {
      bad_plan(file, fmt::format("{}: shard {}/{} of '{}' is not K/N with 1 <= K <= N", where, unit.shard, unit.shards,
                                 unit.consumer));
    }
    if (!consumers.insert(unit.consumer).second) {
      bad_plan(file, fmt::format("{} holds two shards of consumer '{}'", where, unit.consumer));
    }
    job.push_back(std::move(unit));
  }
  return job;
}

}  // namespace

PlanFile read_plan_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) bad_plan(file, "cannot read it");
  auto json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded() || !json.is_object()) bad_plan(file, "not JSON of a plan");
  if (!json.contains("timings") || !json["timings"].is_object()) bad_plan(file, "no \"timings\" object");
  PlanFile plan;
  if (json.contains("run")) {
    if (!json["run"].is_boolean()) bad_plan(file, "\"run\" is not true or false");
    plan.run = json["run"].get<bool>();
  }
  for (const auto& [consumer, digest] : json["timings"].items()) {
    if (!digest.is_string()) bad_plan(file, fmt::format("timings of '{}' is not a string", consumer));
    plan.timings[consumer] = digest.get<std::string>();
  }
  if (json.contains("versions")) {
    const auto& versions = json["versions"];
    if (!versions.is_object()) bad_plan(file, "\"versions\" is not an object");
    plan.versions.emplace();
    for (const auto& [consumer, refs] : versions.items()) {
      if (!refs.is_array()) bad_plan(file, fmt::format("versions of '{}' is not a list", consumer));
      for (const auto& ref : refs) {
        if (!ref.is_string()) bad_plan(file, fmt::format("a version of '{}' is not a string", consumer));
        (*plan.versions)[consumer].push_back(ref.get<std::string>());
      }
    }
  }
  if (json.contains("jobs")) {
    if (!json["jobs"].is_array()) bad_plan(file, "\"jobs\" is not a list");
    for (size_t i = 0; i < json["jobs"].size(); ++i) plan.jobs.push_back(read_job(file, json["jobs"][i], i));
  }
  return plan;
}

std::map<std::string, Unit> units_of_job(const PlanFile& plan, int job) {
  std::map<std::string, Unit> units;
  if (job < 1 || static_cast<size_t>(job) > plan.jobs.size()) return units;
  for (const auto& unit : plan.jobs[static_cast<size_t>(job - 1)]) units.emplace(unit.consumer, unit);
  return units;
}

}  // namespace gate::pipeline

#pragma once
// The CI jobs of a plan: every consumer-shard ("unit") placed in exactly one
// job, and no more jobs than the CI engine runs (a GitHub matrix makes at
// most 256, GitLab's `parallel:` at most 200). `gate plan` packs the units
// and writes them into the plan file; `gate test --plan FILE --job J` runs
// the units of job J; `gate merge` still refuses any unit that is missing or
// twice, shard by shard, whatever job ran it.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gate::pipeline {

// Under both engines' limits.
inline constexpr int kDefaultMaxJobs = 200;

// Shard `shard` of `shards` of one consumer, and what it is expected to
// cost (seconds; only its ratio to the others matters).
struct Unit {
  std::string consumer;
  int shard = 1;
  int shards = 1;
  double estimate = 0;
};

using Job = std::vector<Unit>;

// The units in min(max_jobs, units) jobs, the longest first into the job
// with the least work that holds no shard of the same consumer (two shards
// of one consumer in one job would share its checkout). Deterministic: the
// same units give the same jobs. Each consumer must have at most max_jobs
// shards (plan_shards caps them).
std::vector<Job> pack_units(std::vector<Unit> units, int max_jobs);

// A consumer's shard count in a plan: what it asked for, no more than the
// jobs there are, and no more than the tests its durations list (a shard
// with nothing to run is a job wasted); `known_tests` 0: unknown.
int plan_shards(int wanted, int max_jobs, size_t known_tests);

// What `gate plan --out` wrote, read back by `gate test --plan`.
struct PlanFile {
  bool run = true;
  std::map<std::string, std::string> timings;  // consumer -> pinned digest ("" none)
  std::vector<Job> jobs;                       // empty in a plan from before jobs
  // The consumer versions the plan resolved: every job tests exactly these
  // (none in a plan from before versions: each job asks the remotes).
  std::optional<std::map<std::string, std::vector<std::string>>> versions;
};

// A clear UsageError naming the file and what is wrong with it.
PlanFile read_plan_file(const std::filesystem::path& file);

// The units of job `job` (1-based) by consumer; a job past the plan's last
// one has none (a CI engine may start more jobs than the plan has units).
std::map<std::string, Unit> units_of_job(const PlanFile& plan, int job);

}  // namespace gate::pipeline

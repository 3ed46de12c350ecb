// plan and validate: commands that read the config and run nothing.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/job_plan.h"
#include "pipeline/session.h"
#include "pipeline/shared_timings.h"

namespace gate::pipeline {

namespace {

// GitHub keeps at most 1 MB of a job's outputs.
constexpr size_t kMaxMatrixBytes = 1000 * 1000;

// The shared durations every shard of the consumer splits from; "" (the
// local store) when the registry has none or cannot be reached: durations
// balance shards, they never decide a verdict.
SharedTimings pin_of(Session& session, const std::string& consumer) {
  try {
    auto pinned = pin_timings(session.registry(), repository_of(session.config).repository, consumer);
    log::info(pinned.digest.empty()
                  ? fmt::format("{}: no shared test durations yet: shards split by the local store", consumer)
                  : fmt::format("{}: shards split by {} shared test duration(s), pinned as {}", consumer,
                                pinned.seconds.size(), pinned.digest));
    return pinned;
  } catch (const Interrupted&) {
    throw;
  } catch (const InfraError& e) {
    log::warn(
        fmt::format("{}: shared test durations unavailable, shards split by the local store: {}", consumer, e.what()));
    return {};
  }
}

void write_plan(const std::filesystem::path& file, const nlohmann::json& plan) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::trunc);
  out << plan.dump() << "\n";
  if (!out) throw InfraError(fmt::format("plan: cannot write {}", file.string()));
}

// Every consumer's shards, each priced from the durations pinned for it
// (a consumer without any at the mean of those that have some). Fills
// `timings` with each consumer's pin.
std::vector<Unit> units_of_consumers(Session& session, const PlanOptions& options, nlohmann::json& timings) {
  struct Priced {
    const config::Consumer* consumer;
    int shards;
    double total;  // < 0: nothing known
  };
  std::vector<Priced> priced;
  double known_sum = 0;
  size_t known = 0;
  for (const auto& c : session.config.consumers) {
    // Pinned whatever `shards` says: a CI engine may split it its own way
    // (CI_NODE_INDEX/CI_NODE_TOTAL), and a single shard's workers balance
    // by the same durations.
    SharedTimings pinned = c.knows_tests() && options.shared_timings ? pin_of(session, c.name) : SharedTimings{};
    timings[c.name] = pinned.digest;
    int wanted = !c.knows_tests() ? 1 : (options.shards > 0 ? options.shards : c.shards);
    double total = -1;
    if (!pinned.seconds.empty()) {
      total = 0;
      for (const auto& [test, seconds] : pinned.seconds) total += seconds;
      known_sum += total;
      ++known;
    }
    priced.push_back({&c, plan_shards(wanted, options.max_jobs, pinned.seconds.size()), total});
  }
  const double unknown = known > 0 ? known_sum / static_cast<double>(known) : 1.0;
  std::vector<Unit> units;
  for (const auto& p : priced) {
    double each = (p.total >= 0 ? p.total : unknown) / p.shards;
    for (int k = 1; k <= p.shards; ++k) units.push_back({p.consumer->name, k, p.shards, each});
  }
  return units;
}

std::string job_name(const Job& job, size_t index, size_t count) {
  if (job.size() == 1) return fmt::format("{} {}/{}", job[0].consumer, job[0].shard, job[0].shards);
  std::string name = fmt::format("job {}/{}:", index, count);
  for (size_t i = 0; i < job.size() && i < 3; ++i) {
    name += fmt::format("{} {} {}/{}", i ? "," : "", job[i].consumer, job[i].shard, job[i].shards);
  }
  if (job.size() > 3) name += fmt::format(" +{} more", job.size() - 3);
  return name;
}

// One matrix entry per job. A job of one consumer-shard also says which
// (consumer, shard, shards, timings): workflows of one job per shard read them.
nlohmann::json matrix_entries(const std::vector<Job>& jobs, const nlohmann::json& timings) {
  nlohmann::json include = nlohmann::json::array();
  for (size_t j = 0; j < jobs.size(); ++j) {
    nlohmann::json entry = {{"job", j + 1}, {"jobs", jobs.size()}, {"name", job_name(jobs[j], j + 1, jobs.size())}};
    if (jobs[j].size() == 1) {
      const Unit& unit = jobs[j][0];
      entry["consumer"] = unit.consumer;
      entry["shard"] = unit.shard;
      entry["shards"] = unit.shards;
      entry["timings"] = timings.value(unit.consumer, "");
    }
    include.push_back(std::move(entry));
  }
  return include;
}

nlohmann::json jobs_json(const std::vector<Job>& jobs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& job : jobs) {
    nlohmann::json units = nlohmann::json::array();
    for (const auto& u : job) {
      units.push_back({{"consumer", u.consumer}, {"shard", u.shard}, {"shards", u.shards}, {"estimate", u.estimate}});
    }
    out.push_back(std::move(units));
  }
  return out;
}

void log_packing(const std::vector<Job>& jobs, size_t units, int max_jobs) {
  if (jobs.empty()) return;
  double total = 0, longest = 0;
  for (const auto& job : jobs) {
    double work = 0;
    for (const auto& u : job) work += u.estimate;
    total += work;
    longest = std::max(longest, work);
  }
  log::info(fmt::format(
      "{} consumer-shard(s) in {} job(s) (at most {}); the longest job about {:.1f}s of work, "
      "{:.2f}x the mean",
      units, jobs.size(), max_jobs, longest, total > 0 ? longest / (total / static_cast<double>(jobs.size())) : 1.0));
}

}  // namespace

ExitCode plan(const CommonOptions& common, const PlanOptions& options) {
  Session session(common, "plan");
  session.select_consumers();
  const config::Config& config = session.config;
  bool run = true;
  if (!options.changed_since.empty()) {
    auto scope = change_scope(config, options.changed_since);
    run = scope.relevant;
    log::info(run ? fmt::format("{} file(s) changed since {}; {} match paths: the gate runs", scope.files_changed,
                                options.changed_since, scope.matched.size())
                  : fmt::format("skipped: no relevant change: {} file(s) changed since {}, none matches paths [{}]",
                                scope.files_changed, options.changed_since, fmt::join(scope.paths, ", ")));
  }
  std::vector<Unit> units;
  nlohmann::json timings = nlohmann::json::object();
  if (run) units = units_of_consumers(session, options, timings);
  const size_t unit_count = units.size();
  auto jobs = pack_units(std::move(units), options.max_jobs);
  log_packing(jobs, unit_count, options.max_jobs);
  // The matrix names shards, never tests: its size does not grow with the
  // suite, and it stays far under GitHub's 1 MB of job outputs.
  nlohmann::json matrix = {{"include", matrix_entries(jobs, timings)}};
  std::string text = matrix.dump();
  if (text.size() > kMaxMatrixBytes) {
    throw UsageError(
        fmt::format("plan: the matrix is {} bytes, over the {} a CI job output may hold (long consumer "
                    "names?); plan with fewer --max-jobs",
                    text.size(), kMaxMatrixBytes));
  }
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
  if (!options.out.empty()) {
    write_plan(options.out, {{"run", run},
                             {"matrix", matrix},
                             {"timings", timings},
                             {"versions", session.verdict.versions},
                             {"jobs", jobs_json(jobs)}});
  }
  if (const char* output = std::getenv("GITHUB_OUTPUT"); output && *output) {
    std::ofstream out(output, std::ios::app);
    out << "matrix=" << text << "\n";
    out << "run=" << (run ? "true" : "false") << "\n";
  }
  return ExitCode::passed;
}

ExitCode validate(const CommonOptions& common) {
  Session session(common, "validate");
  const config::Config& config = session.config;
  std::printf("%s: valid (%zu consumer%s, image %s, publish tags %s)\n", common.config_file.c_str(),
              config.consumers.size(), config.consumers.size() == 1 ? "" : "s", config.image.repository.c_str(),
              fmt::format("{}", fmt::join(config.image.publish_tags, ", ")).c_str());
  return ExitCode::passed;
}

}  // namespace gate::pipeline

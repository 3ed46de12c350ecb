// plan and validate: commands that read the config and run nothing.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "pipeline/session.h"
#include "pipeline/shared_timings.h"

namespace gate::pipeline {

namespace {

// The shared durations every shard of the consumer splits from; "" (the
// local store) when the registry has none or cannot be reached: durations
// balance shards, they never decide a verdict.
std::string pin_of(Session& session, const std::string& consumer) {
  try {
    auto pinned = pin_timings(session.registry(), repository_of(session.config).repository, consumer);
    log::info(pinned.digest.empty()
                  ? fmt::format("{}: no shared test durations yet: shards split by the local store", consumer)
                  : fmt::format("{}: shards split by {} shared test duration(s), pinned as {}", consumer,
                                pinned.seconds.size(), pinned.digest));
    return pinned.digest;
  } catch (const Interrupted&) {
    throw;
  } catch (const InfraError& e) {
    log::warn(
        fmt::format("{}: shared test durations unavailable, shards split by the local store: {}", consumer, e.what()));
    return "";
  }
}

void write_plan(const std::filesystem::path& file, const nlohmann::json& plan) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::trunc);
  out << plan.dump() << "\n";
  if (!out) throw InfraError(fmt::format("plan: cannot write {}", file.string()));
}

}  // namespace

ExitCode plan(const CommonOptions& common, const PlanOptions& options) {
  Session session(common, "plan");
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
  // The matrix names shards, never tests: its size does not grow with the
  // suite (job outputs are limited to 1 MB).
  nlohmann::json include = nlohmann::json::array();
  nlohmann::json timings = nlohmann::json::object();
  for (const auto& c : run ? config.consumers : std::vector<config::Consumer>{}) {
    int shards = !c.knows_tests() ? 1 : (options.shards > 0 ? options.shards : c.shards);
    // Pinned whatever `shards` says: a CI engine may split it its own way
    // (GitLab's `parallel:` with CI_NODE_INDEX/CI_NODE_TOTAL), and a single
    // shard's workers balance by the same durations.
    std::string pin = c.knows_tests() && options.shared_timings ? pin_of(session, c.name) : "";
    timings[c.name] = pin;
    for (int k = 1; k <= shards; ++k) {
      include.push_back({{"consumer", c.name},
                         {"shard", k},
                         {"shards", shards},
                         {"timings", pin},
                         {"name", fmt::format("{} {}/{}", c.name, k, shards)}});
    }
  }
  nlohmann::json matrix = {{"include", include}};
  std::string text = matrix.dump();
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
  if (!options.out.empty()) write_plan(options.out, {{"run", run}, {"matrix", matrix}, {"timings", timings}});
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

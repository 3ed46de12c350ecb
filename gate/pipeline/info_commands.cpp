// plan and validate: commands that read the config and run nothing.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "pipeline/session.h"

namespace gate::pipeline {

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
  for (const auto& c : run ? config.consumers : std::vector<config::Consumer>{}) {
    int shards = !c.knows_tests() ? 1 : (options.shards > 0 ? options.shards : c.shards);
    for (int k = 1; k <= shards; ++k) {
      include.push_back({{"consumer", c.name},
                         {"shard", k},
                         {"shards", shards},
                         {"name", fmt::format("{} {}/{}", c.name, k, shards)}});
    }
  }
  nlohmann::json matrix = {{"include", include}};
  std::string text = matrix.dump();
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
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

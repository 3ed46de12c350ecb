#pragma once
// The gate's stages and the commands built from them:
//   run      = build | checkout (concurrently) -> test -> decide -> publish
//   build, checkout, test, publish: one stage each, for workflows that split them.
#include <filesystem>
#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/exit_code.h"
#include "registry/client.h"

namespace gate::pipeline {

struct Options {
  std::filesystem::path config_file;
  std::filesystem::path report_dir = "gate-report";
  std::filesystem::path cache_dir;  // empty = git::default_cache_dir()
  std::string candidate;            // --candidate REF: skip the build, use this image
  bool dry_run = false;
  // --expect-current: "DIGEST", "TAG=DIGEST", "none" or "TAG=none" (repeatable).
  std::vector<std::string> expect_current;
  std::filesystem::path verdict_file;  // publish --verdict
  std::chrono::milliseconds registry_timeout{std::chrono::minutes(2)};
  std::vector<std::string> insecure_registries;
  std::filesystem::path registry_certs_dir;  // "" = registry::default_certs_dir()
  std::string changed_since;  // run --changed-since BASE: PR mode
  int shard_index = 1;        // --shard K/N
  int shard_count = 0;        // 0: no --shard; the consumer's `shards` all run here
  std::string consumer_filter;  // --consumer NAME: only this consumer
  int plan_shards = 0;          // plan --shards N: override the consumers' `shards`
  std::vector<std::filesystem::path> merge_dirs;  // merge: the shards' report directories
  bool require_record = false;  // publish: only a digest with a verification record for every consumer
};

// How to reach the config's registry: the deadline, and plain HTTP for the
// registries named insecure (in the config or on the command line).
registry::ClientOptions client_options(const Options& options, const config::Config& config);

ExitCode run(const Options& options);
ExitCode build(const Options& options);     // prints repository:tag@digest
ExitCode checkout(const Options& options);  // prints "<consumer> <commit>" lines
ExitCode test(const Options& options);      // needs options.candidate
ExitCode publish(const Options& options);   // needs options.candidate with a digest
ExitCode validate(const Options& options);
ExitCode plan(const Options& options);   // prints the CI matrix as JSON
ExitCode merge(const Options& options);  // the fan-in: one verdict from the shards' reports
ExitCode status(const Options& options); // was options.candidate verified against every consumer?

}  // namespace gate::pipeline

#pragma once
// The gate's stages and the commands built from them:
//   run      = build | checkout (concurrently) -> test -> decide -> publish
//   build, checkout, test, publish: one stage each, for workflows that split them.
// Every command takes the options all of them share (CommonOptions) and, if
// it has any, its own; cli/app.cpp's command table binds the flags to them.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/exit_code.h"
#include "registry/client.h"

namespace gate::pipeline {

// How to reach the registry: --registry-timeout, --insecure-registry, --registry-certs-dir.
struct RegistryAccess {
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};  // each operation, retries included
  std::vector<std::string> insecure;                           // host:port reached over plain HTTP
  std::filesystem::path certs_dir;                             // "" = registry::default_certs_dir()
};

// --shard K/N: run only shard K of N of each consumer's tests.
struct Shard {
  int index = 1;
  int count = 0;  // 0: no --shard; the consumer's `shards` all run here
  bool given() const { return count > 0; }
};

// What every command reads; a command without the flag keeps the default.
struct CommonOptions {
  std::filesystem::path config_file;
  std::filesystem::path report_dir = "gate-report";
  std::filesystem::path cache_dir;  // empty = git::default_cache_dir()
  std::string consumer;             // --consumer NAME: only this consumer
  RegistryAccess registry;
};

struct RunOptions {
  std::string candidate;  // --candidate REF: skip the build, use this image
  bool dry_run = false;
  // --expect-current: "DIGEST", "TAG=DIGEST", "none" or "TAG=none" (repeatable).
  std::vector<std::string> expect_current;
  std::string changed_since;  // --changed-since BASE: PR mode
  Shard shard;
  bool serialized = false;  // --serialized: a lock outside gate orders every publish to these tags
  bool bisect = false;      // --bisect: when blocked, name the image commit that broke the consumers
};

struct TestOptions {
  std::string candidate;  // the image to test (required)
  Shard shard;
  std::filesystem::path plan_file;   // --plan: the pins and jobs of `gate plan --out`
  int job = 0;                       // --job J: run the units of the plan's job J (0: none given)
  int jobs_started = 0;              // CI_NODE_TOTAL, when the job is CI_NODE_INDEX: the jobs the CI runs
  std::vector<std::string> timings;  // --timings CONSUMER=DIGEST (repeatable)
};

struct PublishOptions {
  std::string candidate;               // --candidate REPO@sha256:...
  std::filesystem::path verdict_file;  // --verdict
  bool dry_run = false;
  std::vector<std::string> expect_current;
  bool require_record = false;    // with --verdict: records for every consumer too (--candidate always needs them)
  bool serialized = false;        // --serialized: a lock outside gate orders every publish to these tags
  bool override_publish = false;  // --override: publish an unverified --candidate, with --reason, on the record
  std::string reason;
};

struct StatusOptions {
  std::string image;  // REPO@sha256:... or REPO:TAG
};

struct HistoryOptions {
  bool json = false;  // --json: the entries as JSON, oldest first
};

struct BisectOptions {
  std::filesystem::path verdict_file;  // --verdict: the blocked run's verdict.json
  std::string good;                    // --good REV: default the published image's commit (its label)
  std::string bad;                     // --bad REV: default the candidate's commit (its label), else HEAD
  int repeat = 3;                      // --repeat N: runs of each suspect per probe
  bool keep_tags = false;              // --keep-tags: leave the bisect-* images in the registry
};

struct RevokeOptions {
  std::string image;   // REPO@sha256:...
  std::string reason;  // --reason: why (required)
};

struct RollbackOptions {
  std::string to;         // --to DIGEST (or REPO@DIGEST): must be verified unless --override
  bool override = false;  // --override: publish an unverified --to, with --reason
  std::string reason;
  bool dry_run = false;
  bool serialized = false;
};

struct PlanOptions {
  int shards = 0;  // --shards N: override the consumers' `shards`
  std::string changed_since;
  std::filesystem::path out;   // --out FILE: the matrix and the timing pins, for `gate test --plan`
  bool shared_timings = true;  // pin durations shared in the registry (--no-shared-timings: local only)
  int max_jobs = 200;          // --max-jobs: consumer-shards packed into at most this many CI jobs
};

struct MergeOptions {
  std::vector<std::filesystem::path> dirs;  // the shards' report directories
};

// How to reach the config's registry: the deadline, and plain HTTP for the
// registries named insecure (in the config or on the command line).
registry::ClientOptions client_options(const RegistryAccess& access, const config::Config& config);

ExitCode run(const CommonOptions& common, const RunOptions& options);
ExitCode build(const CommonOptions& common);     // prints repository:tag@digest
ExitCode checkout(const CommonOptions& common);  // prints "<consumer> <commit>" lines
ExitCode test(const CommonOptions& common, const TestOptions& options);
ExitCode publish(const CommonOptions& common, const PublishOptions& options);
ExitCode validate(const CommonOptions& common);
ExitCode plan(const CommonOptions& common, const PlanOptions& options);    // prints the CI matrix as JSON
ExitCode merge(const CommonOptions& common, const MergeOptions& options);  // the fan-in
// Verified against every consumer, and not revoked?
ExitCode status(const CommonOptions& common, const StatusOptions& options);
// The tag moves gate made; withdrawing a verification; back to the last verified digest.
ExitCode history(const CommonOptions& common, const HistoryOptions& options);
ExitCode revoke(const CommonOptions& common, const RevokeOptions& options);
ExitCode rollback(const CommonOptions& common, const RollbackOptions& options);
ExitCode bisect(const CommonOptions& common, const BisectOptions& options);
// `run --bisect` after a block: bisects from the run's own verdict.json. The
// run's verdict stands whatever happens here (a failure warns).
void bisect_after_block(const CommonOptions& common);

}  // namespace gate::pipeline

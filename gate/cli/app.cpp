#include "cli/app.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/private_env.h"
#include "git/checkout.h"
#include "git/mirror.h"
#include "pipeline/pipeline.h"
#include "registry/warmup.h"
#include "version.h"

namespace gate::cli {
namespace {

// Every command's options; the command table binds each command's flags to
// its own struct, and the options all commands share to `common`.
struct Parsed {
  pipeline::CommonOptions common;
  pipeline::RunOptions run;
  pipeline::TestOptions test;
  pipeline::PublishOptions publish;
  pipeline::BisectOptions bisect;
  pipeline::StatusOptions status;
  pipeline::HistoryOptions history;
  pipeline::RevokeOptions revoke;
  pipeline::RollbackOptions rollback;
  pipeline::PlanOptions plan;
  pipeline::MergeOptions merge;
};

void add_config(CLI::App& sub, Parsed& p) {
  sub.add_option("-c,--config", p.common.config_file, "the gate.yaml to read")->required();
}
void add_report_dir(CLI::App& sub, Parsed& p) {
  sub.add_option("--report-dir", p.common.report_dir, "where verdict.json, junit.xml, summary.md and logs go")
      ->capture_default_str();
}
void add_cache_dir(CLI::App& sub, Parsed& p) {
  sub.add_option("--cache-dir", p.common.cache_dir,
                 "consumer checkouts, timing stores and locks (default $XDG_CACHE_HOME/gate; gates sharing it "
                 "publish one at a time)");
}
void add_consumer(CLI::App& sub, Parsed& p) {
  sub.add_option("--consumer", p.common.consumer, "only this consumer (a CI matrix job's share)");
}

void add_registry_access(CLI::App& sub, pipeline::RegistryAccess& access);

// What the commands that test consumers (run, test) share.
void add_testing_options(CLI::App& sub, Parsed& p) {
  add_config(sub, p);
  add_report_dir(sub, p);
  add_cache_dir(sub, p);
  add_consumer(sub, p);
  add_registry_access(sub, p.common.registry);
}

void add_registry_access(CLI::App& sub, pipeline::RegistryAccess& access) {
  sub.add_option_function<std::string>(
      "--registry-timeout",
      [&access](const std::string& text) {
        auto duration = parse_duration(text);
        if (!duration)
          throw CLI::ValidationError("--registry-timeout", "'" + text + "' is not a duration (e.g. 30s, 2m)");
        access.timeout = *duration;
      },
      "deadline of each registry operation, retries included (default 2m)");
  sub.add_option("--insecure-registry", access.insecure, "reach this registry (host:port) over plain HTTP; repeatable");
  sub.add_option("--registry-certs-dir", access.certs_dir,
                 "extra CA certificates: DIR/<host:port>/*.crt, trusted besides the system's "
                 "(default $GATE_REGISTRY_CERTS_DIR, else /etc/docker/certs.d, as dockerd reads them)");
}

void add_shard(CLI::App& sub, pipeline::Shard& shard) {
  sub.add_option_function<std::string>(
      "--shard",
      [&shard](const std::string& text) {
        auto slash = text.find('/');
        int k = 0, n = 0;
        try {
          if (slash != std::string::npos) {
            k = std::stoi(text.substr(0, slash));
            n = std::stoi(text.substr(slash + 1));
          }
        } catch (const std::exception&) {
        }
        if (n < 1 || k < 1 || k > n)
          throw CLI::ValidationError("--shard", "'" + text + "' is not K/N with 1 <= K <= N");
        shard.index = k;
        shard.count = n;
      },
      "run only shard K of N of each consumer's tests (duration-balanced, deterministic)");
}

// GitLab's `parallel:` jobs say which they are in CI_NODE_INDEX (1-based)
// and CI_NODE_TOTAL; nothing when the job is not one of several.
std::optional<pipeline::Shard> ci_node() {
  const char* index = std::getenv("CI_NODE_INDEX");
  const char* total = std::getenv("CI_NODE_TOTAL");
  if (!total || !*total) return std::nullopt;
  int k = 0, n = 0;
  try {
    n = std::stoi(total);
    k = index && *index ? std::stoi(index) : 0;
  } catch (const std::exception&) {
  }
  if (n == 1 && k <= 1) return std::nullopt;  // not a parallel job
  if (n < 1 || k < 1 || k > n) {
    throw UsageError(
        fmt::format("CI_NODE_INDEX={} CI_NODE_TOTAL={}: not K of N with 1 <= K <= N (give --shard or --job)",
                    index ? index : "", total));
  }
  return pipeline::Shard{k, n};
}

// Which part of the work a `gate test` job does when its flags do not say:
// with --plan, job CI_NODE_INDEX of the plan's jobs; without, shard
// CI_NODE_INDEX of CI_NODE_TOTAL of every consumer.
pipeline::TestOptions with_ci_node(pipeline::TestOptions options) {
  if (options.shard.given() || options.job > 0) return options;
  auto node = ci_node();
  if (!node) return options;
  if (!options.plan_file.empty()) {
    options.job = node->index;
    options.jobs_started = node->count;
  } else {
    options.shard = *node;
  }
  return options;
}

void add_expect_current(CLI::App& sub, std::vector<std::string>& expect) {
  sub.add_option("--expect-current", expect,
                 "publish only if the tags still point at DIGEST ('none': unset); TAG=DIGEST for one tag; "
                 "repeatable. Default with compare_and_swap: where they pointed before testing");
}

void add_changed_since(CLI::App& sub, std::string& base) {
  sub.add_option("--changed-since", base,
                 "PR mode: run only if the change since BASE (from their merge base) touches the config's "
                 "paths; otherwise exit 0 with a verdict saying it was skipped");
}

void add_dry_run(CLI::App& sub, bool& dry_run) { sub.add_flag("--dry-run", dry_run, "do everything but move any tag"); }

void add_serialized(CLI::App& sub, bool& serialized) {
  sub.add_flag("--serialized", serialized,
               "every publish to these tags runs under one lock outside gate (a GitHub concurrency group, a "
               "GitLab resource_group): no settle window after the first tag's move");
}

// What a command needs set up: the libraries' one-time set-up (curl and TLS
// for the registry, libgit2 and its CA bundle for checkouts) starts on
// threads of their own as soon as the command is known, so it overlaps
// reading the config instead of delaying the first request or checkout.
enum Needs : unsigned { kNothing = 0, kRegistry = 1, kGit = 2 };

// One row per command, as ninja's tool table: its flags, what it needs
// before it starts, and the function that runs it.
struct Command {
  const char* name;
  const char* summary;
  unsigned needs;
  void (*define)(CLI::App&, Parsed&);
  ExitCode (*run)(const Parsed&);
};

// Long by design: the command table, one entry per command with what it
// needs and its options, read top to bottom as ninja's tool table is.
const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"run", "the whole gate: build and push the candidate, check out consumers, test, decide, publish",
       kRegistry | kGit,
       [](CLI::App& sub, Parsed& p) {
         add_testing_options(sub, p);
         sub.add_option("--candidate", p.run.candidate,
                        "skip the build and gate this image already in the registry (REPO:TAG or REPO@sha256:...)");
         add_dry_run(sub, p.run.dry_run);
         add_expect_current(sub, p.run.expect_current);
         add_changed_since(sub, p.run.changed_since);
         add_shard(sub, p.run.shard);
         add_serialized(sub, p.run.serialized);
         sub.add_flag("--bisect", p.run.bisect,
                      "when blocked, find the commit of the image repository that broke the consumers "
                      "(gate bisect; bisect.json in the report directory)");
       },
       // Never sharded by CI_NODE_*: GitLab sets them in every `parallel:`
       // job (a matrix too), and a run tests what it may publish.
       [](const Parsed& p) {
         ExitCode code = pipeline::run(p.common, p.run);
         if (code == ExitCode::blocked && p.run.bisect) pipeline::bisect_after_block(p.common);
         return code;
       }},
      {"build", "build the candidate and push it; prints repository:tag@sha256:... on stdout", kRegistry,
       [](CLI::App& sub, Parsed& p) {
         add_config(sub, p);
         add_report_dir(sub, p);
         add_registry_access(sub, p.common.registry);
       },
       [](const Parsed& p) { return pipeline::build(p.common); }},
      {"checkout", "check out every consumer into the cache; prints each consumer's name and exact commit", kGit,
       [](CLI::App& sub, Parsed& p) {
         add_config(sub, p);
         add_cache_dir(sub, p);
         add_consumer(sub, p);
       },
       [](const Parsed& p) { return pipeline::checkout(p.common); }},
      {"test", "run every consumer's tests against --candidate and decide (never publishes)", kRegistry | kGit,
       [](CLI::App& sub, Parsed& p) {
         add_testing_options(sub, p);
         sub.add_option("--candidate", p.test.candidate, "the image to test (REPO:TAG or REPO@sha256:...)")->required();
         add_shard(sub, p.test.shard);
         sub.add_option("--plan", p.test.plan_file,
                        "the plan of `gate plan --out FILE`: split by the shared test durations it pinned");
         sub.add_option("--job", p.test.job,
                        "run the consumer-shards of job J of the --plan (the matrix's `job`; default "
                        "CI_NODE_INDEX when --plan is given without --shard)")
             ->check(CLI::PositiveNumber);
         sub.add_option("--timings", p.test.timings,
                        "CONSUMER=DIGEST: split that consumer by these shared durations (from the plan's matrix); "
                        "repeatable");
       },
       [](const Parsed& p) { return pipeline::test(p.common, with_ci_node(p.test)); }},
      {"publish",
       "move the publish tags to the tested digest: of a passing --verdict, or a --candidate REPO@sha256:... "
       "verified by its records (or --override --reason)",
       kRegistry,
       [](CLI::App& sub, Parsed& p) {
         add_config(sub, p);
         add_cache_dir(sub, p);
         add_registry_access(sub, p.common.registry);
         sub.add_option("--candidate", p.publish.candidate, "the tested image, by digest: REPO@sha256:...");
         add_dry_run(sub, p.publish.dry_run);
         add_expect_current(sub, p.publish.expect_current);
         sub.add_option("--verdict", p.publish.verdict_file,
                        "publish the digest of this verdict.json, only if it passed for this config's repository");
         add_serialized(sub, p.publish.serialized);
         sub.add_flag("--require-record", p.publish.require_record,
                      "with --verdict: also a verification record for every consumer (see gate status); "
                      "--candidate always needs them");
         sub.add_flag("--override", p.publish.override_publish,
                      "publish a --candidate that is not verified (needs --reason; recorded on the digest, "
                      "and gate status says so)");
         sub.add_option("--reason", p.publish.reason, "why it is published anyway (recorded)");
       },
       [](const Parsed& p) { return pipeline::publish(p.common, p.publish); }},
      {"validate", "check a gate.yaml and exit 2 naming file:line:column of the first problem", kNothing,
       [](CLI::App& sub, Parsed& p) { add_config(sub, p); },
       [](const Parsed& p) { return pipeline::validate(p.common); }},
      {"status",
       "was IMAGE (REPO@sha256:... or REPO:TAG) verified against every consumer of the config? "
       "exit 0 yes, 1 no (reads the records gate attaches to passing digests)",
       kRegistry,
       [](CLI::App& sub, Parsed& p) {
         add_config(sub, p);
         sub.add_option("image", p.status.image, "the image: REPO@sha256:... or REPO:TAG")->required();
         add_registry_access(sub, p.common.registry);
       },
       [](const Parsed& p) { return pipeline::status(p.common, p.status); }},
      {"history",
       "the tag moves gate made in the publish repository (who, when, from, to, the record, why), newest first; "
       "kept in the registry under tag gate-history",
       kRegistry,
       [](CLI::App& sub, Parsed& p) {
         add_config(sub, p);
         sub.add_flag("--json", p.history.json, "print the entries as JSON, oldest first");
         add_registry_access(sub, p.common.registry);
       },
       [](const Parsed& p) { return pipeline::history(p.common, p.history); }},
      {"revoke",
       "withdraw the verification of IMAGE (REPO@sha256:...): status, publish --require-record and rollback refuse "
       "it from then on",
       kRegistry,
       [](CLI::App& sub, Parsed& p) {
         add_config(sub, p);
         sub.add_option("image", p.revoke.image, "the image: REPO@sha256:...")->required();
         sub.add_option("--reason", p.revoke.reason, "why it is withdrawn (recorded)")->required();
         add_registry_access(sub, p.common.registry);
       },
       [](const Parsed& p) { return pipeline::revoke(p.common, p.revoke); }},
      {"rollback",
       "move the publish tags back to the last verified digest before the current one (by the history), or --to "
       "DIGEST (verified, unless --override --reason); all or none, compare-and-swap",
       kRegistry,
       [](CLI::App& sub, Parsed& p) {
         add_config(sub, p);
         add_cache_dir(sub, p);
         add_registry_access(sub, p.common.registry);
         sub.add_option("--to", p.rollback.to,
                        "this digest (sha256:... or REPO@sha256:...) rather than the last verified");
         sub.add_flag("--override", p.rollback.override,
                      "publish --to even though it is not verified (needs --reason)");
         sub.add_option("--reason", p.rollback.reason, "why (recorded in the history)");
         add_dry_run(sub, p.rollback.dry_run);
         add_serialized(sub, p.rollback.serialized);
       },
       [](const Parsed& p) { return pipeline::rollback(p.common, p.rollback); }},
      {"bisect",
       "find the commit of the image repository that broke the consumers a blocked run names: builds the "
       "commits it probes (bisect-<commit>), runs only the regressed tests, each --repeat times; never publishes",
       kRegistry | kGit,
       [](CLI::App& sub, Parsed& p) {
         add_config(sub, p);
         add_cache_dir(sub, p);
         add_report_dir(sub, p);
         add_registry_access(sub, p.common.registry);
         sub.add_option("--verdict", p.bisect.verdict_file, "the blocked run's verdict.json")->required();
         sub.add_option("--good", p.bisect.good, "a commit where the tests pass (default: the published image's)");
         sub.add_option("--bad", p.bisect.bad, "a commit where they fail (default: the candidate's)");
         sub.add_option("--repeat", p.bisect.repeat, "runs of each regressed test per probe")
             ->capture_default_str()
             ->check(CLI::Range(1, 20));
         sub.add_flag("--keep-tags", p.bisect.keep_tags, "leave the bisect-* images in the registry");
       },
       [](const Parsed& p) { return pipeline::bisect(p.common, p.bisect); }},
      {"plan",
       "print the CI matrix (consumer x shard) as JSON for fromJSON(); also to $GITHUB_OUTPUT as matrix=; "
       "pins the test durations shared in the registry for every shard",
       kRegistry,
       [](CLI::App& sub, Parsed& p) {
         add_config(sub, p);
         add_consumer(sub, p);
         sub.add_option("--shards", p.plan.shards,
                        "shards per consumer that knows single tests (default: its `shards`)")
             ->check(CLI::PositiveNumber);
         add_changed_since(sub, p.plan.changed_since);
         sub.add_option("--max-jobs", p.plan.max_jobs,
                        "pack the consumer-shards into at most this many CI jobs (a GitHub matrix runs at most "
                        "256, GitLab's parallel: 200)")
             ->capture_default_str()
             ->check(CLI::Range(1, 256));
         sub.add_option("--out", p.plan.out,
                        "also write the plan (matrix, jobs and timing pins) here, for gate test --plan");
         sub.add_flag("!--no-shared-timings", p.plan.shared_timings,
                      "do not read the durations shared in the registry (shards split by their local store)");
         add_registry_access(sub, p.common.registry);
       },
       [](const Parsed& p) { return pipeline::plan(p.common, p.plan); }},
      {"merge",
       "fan-in: one verdict, junit.xml and summary.md from the shards' report directories; a missing, "
       "duplicated or inconsistent shard exits 3; shares the shards' test durations in the registry",
       kRegistry,
       [](CLI::App& sub, Parsed& p) {
         add_config(sub, p);
         add_report_dir(sub, p);
         add_cache_dir(sub, p);
         add_registry_access(sub, p.common.registry);
         sub.add_option("dirs", p.merge.dirs, "the report directories of every shard job")->required();
       },
       [](const Parsed& p) { return pipeline::merge(p.common, p.merge); }},
  };
  return table;
}

// Internal: the fetch of a consumer mirror, run as a child process so the
// parent can stop it at its deadline (libgit2's server time-out is per
// read: a server that trickles a byte at a time never trips it). Parsed on
// its own: building every command's options would be most of its start.
int fetch_child_main(int argc, char** argv) {
  CLI::App app{"gate __fetch: internal", "gate __fetch"};
  git::FetchRequest fetch;
  app.add_option("--mirror", fetch.mirror)->required();
  app.add_option("--url", fetch.url)->required();
  app.add_option("--ref", fetch.ref);
  app.add_flag("--list-tags", fetch.list_tags);
  bool credentials_stdin = false;
  app.add_flag("--credentials-stdin", credentials_stdin);
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  if (credentials_stdin) {
    std::getline(std::cin, fetch.user);
    std::getline(std::cin, fetch.password);
  }
  return git::fetch_mirror_child(fetch);
}

}  // namespace

int main(int argc, char** argv) {
  interrupt::install_handlers();
  core::keep_private("GATE_REGISTRY_PASSWORD");
  if (argc > 1 && std::string_view(argv[1]) == "__fetch") return fetch_child_main(argc, argv);
  CLI::App app{
      "gate: a pre-publish compatibility gate for container images.\n"
      "Builds a candidate image, runs each consumer's integration subset against it, and\n"
      "moves the release tags to the tested digest only when every consumer is green.\n\n"
      "Exit codes: 0 passed (published unless --dry-run), 1 blocked (a consumer test regressed),\n"
      "2 usage or configuration error, 3 infrastructure error, 130 interrupted.",
      "gate"};
  app.set_version_flag("--version", std::string(kGateVersion));
  app.require_subcommand(1);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "print only errors and machine-readable answers");

  Parsed parsed;
  const Command* selected = nullptr;
  for (const auto& command : commands()) {
    CLI::App* sub = app.add_subcommand(command.name, command.summary);
    command.define(*sub, parsed);
    sub->callback([&selected, &command] { selected = &command; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help/version or the parse error
    return code == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  log::set_quiet(quiet);
  git::set_fetch_program("/proc/self/exe");

  std::optional<registry::Warmup> warmup;  // overlaps reading the config
  if (selected->needs & kRegistry) warmup.emplace();
  std::optional<git::Warmup> git_warmup;
  if (selected->needs & kGit) git_warmup.emplace();
  try {
    ExitCode code = selected->run(parsed);
    return static_cast<int>(code);
  } catch (const Interrupted&) {
    log::error("interrupted: children stopped, nothing published");
    return static_cast<int>(ExitCode::interrupted);
  } catch (const Error& e) {
    log::error(e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    log::error(fmt::format("internal error: {}", e.what()));
    return static_cast<int>(ExitCode::infrastructure);
  }
}

}  // namespace gate::cli

#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

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

// Which shared options a subcommand takes.
enum Flags : unsigned {
  kConfig = 1u << 0,
  kReportDir = 1u << 1,
  kCacheDir = 1u << 2,
  kCandidate = 1u << 3,
  kDryRun = 1u << 4,
  kRegistry = 1u << 5,  // --registry-timeout, --insecure-registry
  kExpect = 1u << 6,    // --expect-current
  kVerdict = 1u << 7,   // --verdict
  kChangedSince = 1u << 8,  // --changed-since
  kShard = 1u << 9,         // --shard K/N
  kConsumer = 1u << 10,     // --consumer NAME
  kPlanShards = 1u << 11,   // plan --shards N
  kMergeDirs = 1u << 12,    // merge DIR...
  kRequireRecord = 1u << 13,  // publish --require-record
  kImageArg = 1u << 14,       // status IMAGE
};

struct Command {
  const char* name;
  const char* summary;
  unsigned flags;
  ExitCode (*handler)(const pipeline::Options&);
  const char* candidate_help;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"run", "the whole gate: build and push the candidate, check out consumers, test, decide, publish",
       kConfig | kReportDir | kCacheDir | kCandidate | kDryRun | kRegistry | kExpect | kChangedSince | kShard | kConsumer,
       pipeline::run,
       "skip the build and gate this image already in the registry (REPO:TAG or REPO@sha256:...)"},
      {"build", "build the candidate and push it; prints repository:tag@sha256:... on stdout",
       kConfig | kReportDir | kRegistry, pipeline::build, nullptr},
      {"checkout", "check out every consumer into the cache; prints each consumer's name and exact commit",
       kConfig | kCacheDir | kConsumer, pipeline::checkout, nullptr},
      {"test", "run every consumer's tests against --candidate and decide (never publishes)",
       kConfig | kReportDir | kCacheDir | kCandidate | kRegistry | kShard | kConsumer, pipeline::test,
       "the image to test (REPO:TAG or REPO@sha256:...)"},
      {"publish", "move the publish tags to the tested digest (of --verdict, or --candidate REPO@sha256:...)",
       kConfig | kCandidate | kDryRun | kRegistry | kExpect | kVerdict | kRequireRecord, pipeline::publish,
       "the tested image, by digest: REPO@sha256:..."},
      {"validate", "check a gate.yaml and exit 2 naming file:line:column of the first problem", kConfig,
       pipeline::validate, nullptr},
      {"status", "was IMAGE (REPO@sha256:... or REPO:TAG) verified against every consumer of the config? "
                 "exit 0 yes, 1 no (reads the records gate attaches to passing digests)",
       kConfig | kImageArg | kRegistry, pipeline::status, nullptr},
      {"plan", "print the CI matrix (consumer x shard) as JSON for fromJSON(); also to $GITHUB_OUTPUT as matrix=",
       kConfig | kConsumer | kPlanShards | kChangedSince, pipeline::plan, nullptr},
      {"merge", "fan-in: one verdict, junit.xml and summary.md from the shards' report directories; a missing, "
                "duplicated or inconsistent shard exits 3",
       kConfig | kReportDir | kCacheDir | kMergeDirs, pipeline::merge, nullptr},
  };
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  interrupt::install_handlers();
  core::keep_private("GATE_REGISTRY_PASSWORD");
  CLI::App app{"gate: a pre-publish compatibility gate for container images.\n"
               "Builds a candidate image, runs each consumer's integration subset against it, and\n"
               "moves the release tags to the tested digest only when every consumer is green.\n\n"
               "Exit codes: 0 passed (published unless --dry-run), 1 blocked (a consumer test regressed),\n"
               "2 usage or configuration error, 3 infrastructure error, 130 interrupted.",
               "gate"};
  app.set_version_flag("--version", std::string(kGateVersion));
  app.require_subcommand(1);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "print only errors and machine-readable answers");

  pipeline::Options options;
  const Command* selected = nullptr;
  for (const auto& command : commands()) {
    CLI::App* sub = app.add_subcommand(command.name, command.summary);
    if (command.flags & kConfig) {
      sub->add_option("-c,--config", options.config_file, "the gate.yaml to read")->required();
    }
    if (command.flags & kReportDir) {
      sub->add_option("--report-dir", options.report_dir, "where verdict.json, junit.xml, summary.md and logs go")
          ->capture_default_str();
    }
    if (command.flags & kCacheDir) {
      sub->add_option("--cache-dir", options.cache_dir, "consumer checkout cache (default $XDG_CACHE_HOME/gate)");
    }
    if (command.flags & kCandidate) {
      auto* opt = sub->add_option("--candidate", options.candidate, command.candidate_help);
      if (command.handler == pipeline::test) opt->required();
    }
    if (command.flags & kRegistry) {
      sub->add_option_function<std::string>(
             "--registry-timeout",
             [&options](const std::string& text) {
               auto duration = parse_duration(text);
               if (!duration) throw CLI::ValidationError("--registry-timeout", "'" + text + "' is not a duration (e.g. 30s, 2m)");
               options.registry_timeout = *duration;
             },
             "deadline of each registry operation, retries included (default 2m)");
      sub->add_option("--insecure-registry", options.insecure_registries,
                      "reach this registry (host:port) over plain HTTP; repeatable");
      sub->add_option("--registry-certs-dir", options.registry_certs_dir,
                      "extra CA certificates: DIR/<host:port>/*.crt, trusted besides the system's "
                      "(default $GATE_REGISTRY_CERTS_DIR, else /etc/docker/certs.d, as dockerd reads them)");
    }
    if (command.flags & kExpect) {
      sub->add_option("--expect-current", options.expect_current,
                      "publish only if the tags still point at DIGEST ('none': unset); TAG=DIGEST for one tag; "
                      "repeatable. Default with compare_and_swap: where they pointed before testing");
    }
    if (command.flags & kVerdict) {
      sub->add_option("--verdict", options.verdict_file,
                      "publish the digest of this verdict.json, only if it passed for this config's repository");
    }
    if (command.flags & kChangedSince) {
      sub->add_option("--changed-since", options.changed_since,
                      "PR mode: run only if the change since BASE (from their merge base) touches the config's "
                      "paths; otherwise exit 0 with a verdict saying it was skipped");
    }
    if (command.flags & kShard) {
      sub->add_option_function<std::string>(
             "--shard",
             [&options](const std::string& text) {
               auto slash = text.find('/');
               int k = 0, n = 0;
               try {
                 if (slash != std::string::npos) {
                   k = std::stoi(text.substr(0, slash));
                   n = std::stoi(text.substr(slash + 1));
                 }
               } catch (const std::exception&) {
               }
               if (n < 1 || k < 1 || k > n) throw CLI::ValidationError("--shard", "'" + text + "' is not K/N with 1 <= K <= N");
               options.shard_index = k;
               options.shard_count = n;
             },
             "run only shard K of N of each consumer's tests (duration-balanced, deterministic)");
    }
    if (command.flags & kRequireRecord) {
      sub->add_flag("--require-record", options.require_record,
                    "publish only a digest with a verification record for every consumer (see gate status)");
    }
    if (command.flags & kImageArg) {
      sub->add_option("image", options.candidate, "the image: REPO@sha256:... or REPO:TAG")->required();
    }
    if (command.flags & kConsumer) {
      sub->add_option("--consumer", options.consumer_filter, "only this consumer (a CI matrix job's share)");
    }
    if (command.flags & kPlanShards) {
      sub->add_option("--shards", options.plan_shards, "shards per consumer that knows single tests (default: its `shards`)")
          ->check(CLI::PositiveNumber);
    }
    if (command.flags & kMergeDirs) {
      sub->add_option("dirs", options.merge_dirs, "the report directories of every shard job")->required();
    }
    if (command.flags & kDryRun) {
      sub->add_flag("--dry-run", options.dry_run, "do everything but move any tag");
    }
    sub->callback([&selected, &command] { selected = &command; });
  }

  // Internal: the fetch of a consumer mirror, run as a child process so the
  // parent can stop it at its deadline (libgit2 1.5 has no network timeouts).
  git::FetchRequest fetch;
  CLI::App* fetch_command = app.add_subcommand("__fetch", "")->group("");
  fetch_command->add_option("--mirror", fetch.mirror)->required();
  fetch_command->add_option("--url", fetch.url)->required();
  fetch_command->add_flag("--default-branch", fetch.want_default_branch);
  bool credentials_stdin = false;
  fetch_command->add_flag("--credentials-stdin", credentials_stdin);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help/version or the parse error
    return code == 0 ? 0 : static_cast<int>(ExitCode::usage);
  }
  log::set_quiet(quiet);
  if (fetch_command->parsed()) {
    if (credentials_stdin) {
      std::getline(std::cin, fetch.user);
      std::getline(std::cin, fetch.password);
    }
    return static_cast<int>(git::fetch_mirror(fetch));
  }
  git::set_fetch_program("/proc/self/exe");

  std::optional<registry::Warmup> warmup;  // overlaps reading the config
  if (selected->flags & kRegistry) warmup.emplace();
  try {
    ExitCode code = selected->handler(options);
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

#pragma once
// gate.yaml, version 1: the configuration contract (see README "Configuration").
// load_config() checks everything that can be checked before any work starts;
// every problem is a UsageError naming file:line:column.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/placeholders.h"
#include "core/outcome.h"

namespace gate::config {

// An argv to execute, or one shell script run with /bin/sh -c.
struct Command {
  std::vector<Template> argv;
  bool shell = false;
  SourceMark mark;
};

struct Image {
  std::string repository;  // "host[:port]/path", no tag or digest
  std::filesystem::path context;
  std::string dockerfile;  // relative to context unless absolute; empty = default
  std::map<std::string, std::string> build_args;
  std::optional<Template> candidate_tag;  // may use ${GIT_SHA}
  std::vector<std::string> publish_tags;
  // Where publish tags go: "host[:port]/path" in the same registry; empty =
  // the candidate's repository.
  std::string publish_repository;
  // Refuse to move a publish tag that moved since the gate first looked.
  bool compare_and_swap = true;

  const std::string& release_repository() const { return publish_repository.empty() ? repository : publish_repository; }
};

// A container the consumer's tests talk to, started before them.
struct Service {
  std::string name;
  Template image;  // default: ${CANDIDATE_REF}
  std::vector<int> ports;
  // Container port -> fixed loopback host port (for suites that hard-code
  // localhost:PORT); other ports get a random one.
  std::map<int, int> host_ports;
  std::vector<std::pair<std::string, Template>> env;
  int ready_tcp = 0;                    // ready when this container port accepts connections
  std::vector<Template> ready_command;  // or when this command (on the host) exits 0
  std::chrono::milliseconds ready_timeout{std::chrono::seconds(30)};
};

// How many failures baseline classification may excuse: a count of tests,
// or a percentage of the tests selected.
struct Limit {
  double value = 10;
  bool percent = true;
  std::string text() const;  // "10%" or "3"
  // Whether `count` of `selected` is over the limit.
  bool exceeded(size_t count, size_t selected) const;
};

// What a policy does with a test of an outcome: stop the publish, or let it
// through with a warning.
enum class PolicyAction { block, warn };
// outcome -> action.
using Policy = std::map<Outcome, PolicyAction>;

// How a consumer's tests are run: `command` is one unit (its JUnit, when
// given, names the tests); the others are the suite engine, which lists
// single tests and runs them in batches (gate/suite/*_runner.cpp).
enum class RunnerKind { command, pytest, ctest, go };
std::string_view runner_name(RunnerKind kind);

struct Consumer {
  std::string name;
  std::string repo;  // URL, or an absolute path to a local repository
  std::string ref;   // branch, tag or commit; empty = the remote's default branch
  // The versions users run besides `ref` (pipeline/versions.h): the
  // `releases` newest tags of the remote whose whole name matches
  // `release_pattern` (by version order), and the `refs` listed. Each is a
  // consumer of its own, named "name@<tag or ref>", everywhere.
  int releases = 0;
  std::string release_pattern = R"(v?[0-9]+(\.[0-9]+)*)";
  std::vector<std::string> refs;
  std::string version_of;  // an instance's: the configured consumer's name ("" = the consumer itself)
  std::vector<Command> setup;
  Command run;
  std::vector<std::pair<std::string, Template>> env;
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
  std::optional<std::string> junit;  // glob relative to the checkout
  bool submodules = false;
  std::vector<Service> services;
  // Setup cache: these paths (relative to the checkout) are saved after a
  // setup that succeeded and restored instead of running it again, keyed by
  // the consumer commit, the setup commands and cache_key.
  std::vector<std::string> cache_paths;
  std::string cache_key;
  // The suite engine (runner other than "command").
  RunnerKind runner = RunnerKind::command;
  bool knows_tests() const { return runner != RunnerKind::command; }
  std::vector<std::string> tests;             // selection: files, node ids, options such as "-m smoke"
  int shards = 1;                             // how many machines share this consumer's tests
  int parallel = 1;                           // workers inside one shard
  std::vector<std::string> serial_groups;     // globs of tests that share global state
  std::chrono::milliseconds test_timeout{0};  // per test; 0 = none
  int retries = 0;                            // reruns of a failed test on the candidate
  // Runs of every test on the candidate (Bazel's --runs_per_test): gate
  // sees only a breakage that happens in a run it makes, and a test the
  // candidate breaks 30% of the time passes one run 70% of the time.
  int runs_per_test = 1;
  bool prebuild = false;  // runner go: compile each package's tests once
  bool baseline = false;  // rerun what still fails against the published image
  // Confirmation reruns on the candidate of a test that failed and then
  // passed (their counts are in the verdict).
  int flaky_reruns = 3;
  // The most reruns that look for flakiness where it decides: on the
  // published image until the test fails there, on the candidate until it
  // passes. Most stop at once for a test flaky on both; the cap is paid by
  // tests that are not (a 20%-flaky test shows no failure in 30 runs 0.1%
  // of the time).
  int baseline_reruns = 30;
  // Go on looking for flakiness once one test is sure to block, so that the
  // report names every test exactly (false: a red run costs less; the tests
  // not rerun keep the outcome their evidence allows).
  bool rerun_when_blocked = true;
  std::optional<Limit> max_pre_existing;  // over the top-level one
  Policy policy;                          // over the top-level policy
  std::string token_env;                  // environment variable holding a token for the repository
  std::string token_user = "x-access-token";
  std::chrono::milliseconds checkout_timeout{std::chrono::minutes(10)};
  SourceMark mark;
};

// Coverage of the candidate under the consumers' tests (`coverage:`). Only
// Go: a candidate built with `go build -cover` writes its counters into the
// directory named by `env` when it exits.
struct Coverage {
  std::string kind = "go";
  std::string env = "GOCOVERDIR";  // the variable the candidate reads
  std::string go = "go";           // the Go command (>= 1.20) that reads the counters
};

struct Config {
  std::filesystem::path file;  // as given on the command line
  std::filesystem::path dir;   // directory relative paths are resolved against
  // "sha256:<hex>" of the bytes read: the policy a verification record names
  // is the file this gate ran by, not the file as it is when the run ends.
  std::string digest;
  Image image;
  std::vector<Consumer> consumers;
  // Registries reached over plain HTTP although not on a loopback address.
  std::vector<std::string> insecure_registries;
  // PR mode: globs of repository paths (of the image's own repository) whose
  // change makes the gate run; empty = any change.
  std::vector<std::string> paths;
  // For every consumer (a consumer's own policy wins).
  Policy policy;
  std::optional<Coverage> coverage;
  // Default: 10% of the selected tests. Without a limit, a candidate that
  // breaks most tests of a consumer whose baseline also fails them (a shared
  // service, a broken fixture) would pass as "pre-existing".
  Limit max_pre_existing;
  // Consumers tested at once (0: as many as the machine has cores; 1: one
  // after another).
  int concurrency = 0;
  // A failed consumer stops the consumers not started yet (they are not-run).
  bool fail_fast = false;
};

// The limit for a consumer: its own, else the top-level one.
const Limit& max_pre_existing(const Config& config, const Consumer& consumer);

// The outcomes a policy can name, and the defaults.
const Policy& default_policy();
// block or warn for an outcome under a consumer's policy and the top-level one.
bool policy_blocks(const Config& config, const Consumer& consumer, Outcome outcome);

Config load_config(const std::filesystem::path& file);

// Parses YAML text as if it were read from `file` (used by tests).
Config parse_config(const std::string& text, const std::filesystem::path& file);

}  // namespace gate::config

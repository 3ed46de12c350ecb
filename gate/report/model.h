#pragma once
// The one results model of a gate run. Every renderer (verdict.json,
// junit.xml, summary.md, the terminal) reads this structure and nothing else.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/exit_code.h"
#include "core/outcome.h"

namespace gate::report {

enum class TestStatus { passed, failed, error, skipped };
std::string_view test_status_name(TestStatus status);

struct TestCase {
  // (Fields ordered for size: a report may name a million tests.)
  std::string classname;
  std::string name;
  TestStatus status = TestStatus::passed;
  double seconds = 0;
  std::string message;  // failure/error message attribute
  std::string details;  // failure/error text (trace), bounded
  int attempts = 1;     // runs on the candidate (retries included)
  // The evidence behind the outcome: confirmation reruns of a test that
  // failed and then passed (flaky?), and its runs against the baseline.
  int confirm_runs = 0, confirm_failures = 0;    // extra runs on the candidate
  int baseline_runs = 0, baseline_failures = 0;  // runs on the published image
  bool timed_out = false;                        // stopped at test_timeout
  // The gate's classification (unclassified: a test gate did not judge, as
  // a command consumer's JUnit case), and whether the policy blocks on it.
  Outcome outcome = Outcome::unclassified;
  bool blocks = false;
  bool known_before = false;  // pre-existing/flaky: the timing store saw it so before

  // Whether it stops the publish: its policy says so, or, not judged, it failed.
  bool blocking() const {
    return outcome == Outcome::unclassified ? (status == TestStatus::failed || status == TestStatus::error) : blocks;
  }
  // The word the reports show for it: its outcome, else its status.
  std::string_view outcome_word() const {
    return outcome == Outcome::unclassified ? test_status_name(status) : outcome_name(outcome);
  }

  std::string id() const { return classname.empty() ? name : classname + "::" + name; }
  // id() == id, without building id().
  bool has_id(std::string_view id) const {
    if (classname.empty()) return id == name;
    return id.size() == classname.size() + 2 + name.size() && id.starts_with(classname) &&
           id.substr(classname.size(), 2) == "::" && id.ends_with(name);
  }
};

// A service container of one image run: which image it really ran from.
struct ServiceRun {
  std::string name;
  std::string image;      // as started (reference with digest)
  std::string container;  // id
};

// One run of a consumer against one image (the candidate, or the published
// baseline): the services it had and the containers created meanwhile.
struct ImagePhase {
  std::string role;    // "candidate" or "baseline"
  std::string digest;  // the image the phase was bound to
  std::vector<ServiceRun> services;
  std::vector<std::string> containers_created;  // "id image" of every container created during the phase
  std::string worktree;                         // "checkout" or "fresh" (a worktree of its own)
};

// Whether failures could be compared with the published image, and why not.
//   off          baseline: false
//   not-needed   nothing failed or flaked on the candidate
//   used         the baseline rerun is valid evidence
//   identical    the candidate is the published image (already published)
//   unavailable  no published image, or the release tag could not be read
//   invalid      the baseline rerun ran but cannot be trusted (reason)
struct BaselineReport {
  std::string status = "off";
  std::string digest;
  std::string reason;
  size_t tests_rerun = 0;  // distinct tests run against the baseline
  size_t executions = 0;   // test executions that cost (baseline and confirmation reruns)
};

// What happened to one consumer.
enum class ConsumerStatus { passed, failed, timed_out, setup_failed, not_run, error };
std::string_view consumer_status_name(ConsumerStatus status);

struct ConsumerResult {
  std::string name;
  std::string repo;
  std::string ref;
  std::string commit;
  std::vector<std::string> submodules;  // "path commit url" of each submodule checked out
  ConsumerStatus status = ConsumerStatus::not_run;
  std::string process_status;  // "exit 0", "timed out after 3.0s", ...
  int exit_code = -1;
  double seconds = 0;
  std::vector<TestCase> tests;       // from JUnit, when configured
  size_t tests_omitted = 0;          // plain passes a summarised verdict.json counted but did not list
  std::vector<std::string> reasons;  // why it did not pass
  std::string log_file;              // relative to the report directory
  std::string output_tail;           // end of the output, for failures
  std::vector<std::string> containers_removed;
  std::string shard;        // "K/N" when the tests were split over shards
  std::string timings;      // the shared durations' digest its split was planned from ("" none pinned)
  std::string split;        // sha256 of the whole split (test -> shard), the same in every shard of one run
  std::string setup_cache;  // "hit", "stored", or empty (no cache_paths)
  nlohmann::json profile = nlohmann::json::object();  // workers' busy/idle time, shards' wall time
  size_t tests_planned = 0;                           // tests this shard was given
  std::vector<ImagePhase> phases;                     // the candidate's run, then the baseline's if there was one
  BaselineReport baseline;
  std::vector<std::string> missing;  // tests the last passing run reported and this one did not

  bool passed() const { return status == ConsumerStatus::passed; }
};

struct Candidate {
  std::string repository;  // "127.0.0.1:5000/acme/emulator"
  std::string tag;
  std::string digest;
  std::string ref() const { return digest.empty() ? repository + ":" + tag : repository + "@" + digest; }
};

struct PublishedTag {
  std::string tag;
  std::string previous_digest;  // empty when the tag did not exist
  std::string digest;
};

struct Stage {
  std::string name;
  double start_seconds = 0;  // since the run started
  double seconds = 0;
};

// PR mode: what the change touched and whether the gate had to run.
struct ChangeScope {
  std::string base;        // as given to --changed-since
  std::string merge_base;  // commit
  std::string head;        // commit
  size_t files_changed = 0;
  std::vector<std::string> paths;    // the globs
  std::vector<std::string> matched;  // changed files matching them (first 50)
  bool relevant = true;
};

struct Verdict {
  std::string gate_version;
  std::string config_file;
  std::string command;  // "run", "test", "publish"
  bool dry_run = false;
  std::string started_at;  // UTC, ISO 8601
  double seconds = 0;
  Candidate candidate;
  std::vector<ConsumerResult> consumers;
  // The consumer versions tested besides each consumer's ref (each one of
  // `consumers`, as "name@version"): what every shard of a run must agree on.
  std::map<std::string, std::vector<std::string>> versions;
  std::string publish_repository;  // where the publish tags live
  // The digest each publish tag pointed to when the run started ("" = unset):
  // what compare-and-swap expects them to still point to when publishing.
  std::map<std::string, std::string> tags_seen;
  std::vector<PublishedTag> published;
  std::string publish_requests;  // what publishing cost on the wire
  std::vector<Stage> stages;
  long peak_rss_kb = 0;    // gate's own peak memory (children not included)
  double cpu_seconds = 0;  // gate's own CPU time, user + system, all threads, up to the verdict (children not included)
  nlohmann::json containers = nlohmann::json::object();  // engine::ContainerReport of the run
  nlohmann::json coverage;  // suite::summarize_coverage, when the config asks for coverage (null otherwise)
  ExitCode exit_code = ExitCode::infrastructure;
  std::vector<std::string> reasons;    // why the decision is what it is
  std::optional<ChangeScope> changes;  // with --changed-since
  bool skipped = false;                // no relevant change: nothing built or tested
  std::string error;                   // the error that stopped the run, if any
};

}  // namespace gate::report

#pragma once
// What every command of gate shares (internal to gate/pipeline): the config
// narrowed to --consumer, the verdict being filled in and its stage clock,
// the engine and the registry, reports written on every exit, and the small
// helpers more than one command uses. Each command lives in a file of its own
// on top of this: run_commands.cpp (run, build, checkout, test),
// publish_commands.cpp (publish, status), info_commands.cpp (plan,
// validate), merge.cpp (with shard_join.cpp).
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/deferred.h"
#include "core/events.h"
#include "engine/container_watch.h"
#include "engine/engine.h"
#include "pipeline/pipeline.h"
#include "pipeline/versions.h"
#include "registry/client.h"
#include "registry/reference.h"
#include "registry/registry.h"
#include "report/model.h"

namespace gate::pipeline {

std::string utc_now(const char* format);

// Records stage timings relative to the start of the run; thread-safe since
// build and checkout run at the same time.
class StageClock {
  using Clock = std::chrono::steady_clock;

 public:
  explicit StageClock(report::Verdict& verdict) : verdict_(verdict), origin_(Clock::now()) {}

  template <typename F>
  auto measure(const std::string& name, F&& body) {
    auto start = Clock::now();
    struct Record {
      StageClock* self;
      std::string name;
      Clock::time_point start;
      ~Record() { self->add(name, start, Clock::now()); }
    } record{this, name, start};
    return body();
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - origin_).count(); }

 private:
  void add(const std::string& name, Clock::time_point start, Clock::time_point end) {
    events::record({{"type", "stage"},
                    {"name", name},
                    {"start", std::chrono::duration<double>(start - origin_).count()},
                    {"seconds", std::chrono::duration<double>(end - start).count()}});
    std::lock_guard lock(mutex_);
    verdict_.stages.push_back({name, std::chrono::duration<double>(start - origin_).count(),
                               std::chrono::duration<double>(end - start).count()});
  }
  report::Verdict& verdict_;
  Clock::time_point origin_;
  std::mutex mutex_;
};

registry::Reference repository_of(const config::Config& config);
// The repository path of the publish tags in their registry.
std::string release_path(const config::Config& config);

// Compare-and-swap expectations: --expect-current wins; else, with
// compare_and_swap on, what the gate saw before testing.
std::map<std::string, std::string> expectations(const std::vector<std::string>& expect_current,
                                                const config::Config& config,
                                                const std::map<std::string, std::string>& seen);
// Why tags move, for the history (pipeline/history.h).
struct MoveReason {
  std::string action = "publish";  // publish, rollback, override
  std::string why;
};
// Moves the publish tags to `digest`, one gate sharing `cache_dir` at a time;
// `requests` gets what it cost on the wire. Each tag moved is appended to
// the repository's history (a failure there warns: the move stands).
std::vector<report::PublishedTag> publish_candidate(registry::Client& registry, const RegistryAccess& access,
                                                    const config::Config& config, const std::string& digest,
                                                    const std::map<std::string, std::string>& expect,
                                                    const std::filesystem::path& cache_dir, bool serialized,
                                                    std::string* requests, const MoveReason& reason);
// Prints each tag moved, "REPO:TAG DIGEST (was PREVIOUS|new)", on stdout.
void print_moved(const config::Config& config, const std::vector<report::PublishedTag>& moved);
// PR mode: did the change since BASE touch any of the configured paths?
report::ChangeScope change_scope(const config::Config& config, const std::string& base);
// Attaches the verified-digest record; a failure to record is a warning (an
// interrupt is not: it is passed on). Every command that records goes
// through here, so the rule is the same for all.
// `subject_seen`: the candidate's descriptor when the command read it.
void record_verification(registry::Registry& registry, const config::Config& config, const report::Verdict& verdict,
                         const registry::Descriptor& subject_seen = {});
// The repositories whose containers the run watches: the candidate's and
// the release repository's (baseline reruns).
std::unique_ptr<engine::ContainerWatch> watch_containers(const config::Config& config);

// Everything one command works with: the config (narrowed to --consumer),
// the verdict being filled in, its stage clock, and the two outside worlds,
// made on first use: a command that never talks to the registry or the
// engine never configures one (and fails on nothing it does not need).
class Session {
 public:
  Session(const CommonOptions& options, const char* command);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  registry::Client& registry();
  const engine::Engine& engine();
  // --cache-dir, else git::default_cache_dir().
  std::filesystem::path cache_dir() const;
  // The consumers the command tests: the config's, with the versions users
  // run added as consumers of their own (asked of the remotes, or `pinned`
  // by a plan or the shards' reports), narrowed to --consumer. Recorded in
  // the verdict. Commands that test nothing never ask the remotes.
  void select_consumers(const Versions* pinned = nullptr, const std::string& pinned_by = "");
  // Fail fast, naming what is missing, before any work starts: the
  // registry and the engine are asked at once (the registry's error first
  // when both fail).
  void preflight();
  // A passing run that tested every consumer whole attaches a record: the
  // upload session of its blob is opened while the tests run
  // (registry::Client::open_upload_ahead), not after the verdict. Asked for
  // here; opened once the first test process runs (tests_started), when
  // gate and the registry have little else to do.
  void record_upload_ahead() { record_upload_wanted_ = true; }
  // For suite::RunContext::on_tests_started: opens the session asked for,
  // once (any thread, any number of calls); empty when none was asked for.
  std::function<void()> tests_started();
  // For the record's own thread: what it waits for before it uploads.
  std::future<void> take_record_upload_ahead() { return std::move(record_upload_ahead_); }
  // Waits for the session to be opened, and cancels it if no record used it.
  void close_record_upload_ahead();

  const CommonOptions& options;
  config::Config config;
  report::Verdict verdict;
  StageClock clock;
  // Work that runs while the reports are written (record_verification_meanwhile).
  std::future<void> meanwhile;
  // The consumers' timing-store updates: with_reports runs them on a thread
  // of their own while it writes the reports (the record already on its
  // way), whatever the outcome.
  core::Deferred after_verdict;
  // The candidate's manifest as resolved (its record points at it without asking again).
  registry::Descriptor candidate_seen;

 private:
  std::optional<registry::Client> registry_;
  std::unique_ptr<engine::Engine> engine_;
  bool record_upload_wanted_ = false;
  std::once_flag record_upload_opened_;
  std::future<void> record_upload_ahead_;  // declared after registry_: ends before it
};

// Runs `body`, then writes the reports whatever happened; errors are
// recorded in the verdict and passed on to the CLI.
ExitCode with_reports(Session& session, const std::function<void()>& body);
// The same, its requests made while the reports are written: with_reports
// waits for them (and passes an interrupt on) before it returns. For a
// command whose last step it is.
void record_verification_meanwhile(Session& session);
void log_reasons(const report::Verdict& verdict);

}  // namespace gate::pipeline

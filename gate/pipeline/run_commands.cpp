// run, build, checkout and test: the stages of a gate run.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "core/concurrent.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "git/checkout.h"
#include "pipeline/candidate.h"
#include "pipeline/decide.h"
#include "pipeline/job_plan.h"
#include "pipeline/publish.h"
#include "pipeline/session.h"
#include "pipeline/shared_timings.h"
#include "suite/consumer_run.h"
#include "suite/coverage.h"

namespace gate::pipeline {
namespace {

// Every consumer tested whole, not one shard of it: only such a run is
// evidence for the consumers' records.
bool tested_whole(const report::Verdict& verdict) {
  return std::none_of(verdict.consumers.begin(), verdict.consumers.end(),
                      [](const report::ConsumerResult& c) { return !c.shard.empty(); });
}

// A consumer fail_fast did not start.
report::ConsumerResult not_started(const config::Consumer& consumer, const git::Checkout& checkout) {
  report::ConsumerResult result;
  result.name = consumer.name;
  result.repo = log::redact(consumer.repo);
  result.ref = consumer.ref;
  result.commit = checkout.commit;
  result.status = report::ConsumerStatus::not_run;
  result.reasons.push_back("not run: a consumer before it failed (fail_fast: true)");
  return result;
}

// The shard of its tests a consumer runs in this job.
using ShardOf = std::function<Shard(const config::Consumer&)>;

// The consumers `which` names, `concurrency` at a time (each consumer's
// output is prefixed with its name, its services and ports are its own);
// the results in configured order. An interrupt stops them all; a failure
// stops the consumers not started yet only with fail_fast.
std::vector<report::ConsumerResult> test_at_once(Session& session, const std::vector<size_t>& which,
                                                 const Checkouts& checkouts, const suite::RunContext& context,
                                                 const ShardOf& shard_of) {
  const config::Config& config = session.config;
  size_t workers = config.concurrency > 0 ? static_cast<size_t>(config.concurrency)
                                          : std::max<size_t>(1, std::thread::hardware_concurrency());
  workers = std::min(workers, which.size());
  std::vector<std::optional<report::ConsumerResult>> results(which.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::exception_ptr thrown;
  auto work = [&] {
    for (size_t k; (k = next++) < which.size();) {
      const size_t i = which[k];
      if (stop) {
        results[k] = not_started(config.consumers[i], checkouts.list[i]);
        continue;
      }
      try {
        interrupt::throw_if_requested();
        results[k] = session.clock.measure("test:" + config.consumers[i].name, [&] {
          suite::RunContext mine = context;
          Shard shard = shard_of(config.consumers[i]);
          mine.shard_index = shard.index;
          mine.shard_count = shard.count;
          return suite::run_consumer(config.consumers[i], checkouts.list[i], mine);
        });
        if (config.fail_fast && !results[k]->passed()) stop = true;
      } catch (...) {  // (an interrupt, a usage error: after the others stopped)
        std::lock_guard lock(mutex);
        if (!thrown) thrown = std::current_exception();
        stop = true;
        return;
      }
    }
  };
  if (workers <= 1) {
    work();
  } else {
    std::vector<std::thread> threads;
    for (size_t w = 0; w < workers; ++w) threads.emplace_back(work);
    for (auto& t : threads) t.join();
  }
  if (thrown) std::rethrow_exception(thrown);
  std::vector<report::ConsumerResult> out;
  for (auto& r : results) {
    if (r) out.push_back(std::move(*r));
  }
  return out;
}

// `units`: a plan's job, each consumer with a shard of its own; without,
// every consumer runs `shard`.
void test_consumers(Session& session, const Shard& shard, const Checkouts& checkouts,
                    const std::map<std::string, suite::PinnedTimings>& pinned = {},
                    const std::map<std::string, Unit>* units = nullptr) {
  const config::Config& config = session.config;
  report::Verdict& verdict = session.verdict;
  const std::filesystem::path& report_dir = session.options.report_dir;
  suite::RunContext context;
  context.config = &config;
  context.candidate = binding_of(config, verdict.candidate, "candidate");
  context.cache_dir = std::filesystem::absolute(session.cache_dir());
  context.pinned_timings = pinned;
  context.after_verdict = &session.after_verdict;
  context.on_tests_started = session.tests_started();
  // The baseline: where the first publish tag pointed when the run started.
  if (config.image.publish_tags.empty()) {
    context.baseline_unavailable = "the config has no publish tag, so there is no published image";
  } else {
    const std::string& tag = config.image.publish_tags.front();
    auto it = verdict.tags_seen.find(tag);
    if (it == verdict.tags_seen.end() || it->second.empty()) {
      context.baseline_unavailable =
          fmt::format("no published image yet ({}:{} is not set)", config.image.release_repository(), tag);
    } else {
      report::Candidate published{config.image.release_repository(), tag, it->second};
      suite::ImageBinding baseline = binding_of(config, published, "baseline");
      // ${CANDIDATE} names the image by digest: the tag may move meanwhile.
      baseline.placeholders[std::string(config::kCandidate)] = published.repository + "@" + published.digest;
      context.baseline = std::move(baseline);
      if (published.digest == verdict.candidate.digest) {
        log::info(fmt::format("the candidate {} is already published as {}:{}", verdict.candidate.digest,
                              published.repository, tag));
      }
    }
  }
  // Children run in the consumers' checkouts: every path they are given is absolute.
  context.report_dir = std::filesystem::absolute(report_dir);
  context.engine = &session.engine();
  std::vector<size_t> here;
  for (size_t i = 0; i < config.consumers.size(); ++i) {
    // A consumer that is one unit runs on the first shard only.
    if (units || config.consumers[i].knows_tests() || !shard.given() || shard.index == 1) here.push_back(i);
  }
  ShardOf shard_of = [&](const config::Consumer& consumer) {
    if (!units) return shard;
    const Unit& unit = units->at(consumer.name);
    return unit.shards > 1 ? Shard{unit.shard, unit.shards} : Shard{};
  };
  for (auto& result : test_at_once(session, here, checkouts, context, shard_of)) {
    verdict.consumers.push_back(std::move(result));
  }
  if (config.coverage) {
    verdict.coverage = session.clock.measure("coverage", [&] {
      return suite::summarize_coverage(*config.coverage, suite::raw_coverage_dirs({report_dir}), report_dir);
    });
  }
}

// A candidate that is the published image: publishing it moves no tag that
// is already there; the verdict says so.
void note_already_published(const config::Config& config, report::Verdict& verdict) {
  if (config.image.publish_tags.empty()) return;
  const std::string& tag = config.image.publish_tags.front();
  auto it = verdict.tags_seen.find(tag);
  if (it == verdict.tags_seen.end() || it->second != verdict.candidate.digest) return;
  verdict.reasons.push_back(fmt::format("{} is already published as {}:{}: no tag already at it moves",
                                        verdict.candidate.digest, config.image.release_repository(), tag));
}

// The durations the plan pinned, fetched before any test: every shard of
// the run splits from exactly these, or fails here.
std::map<std::string, suite::PinnedTimings> fetch_pins(Session& session, const PlanFile& plan,
                                                       const TestOptions& options) {
  std::map<std::string, suite::PinnedTimings> pinned;
  auto pins = pins_of(plan.timings, options.timings);
  for (const auto& flag : options.timings) {
    const std::string name = flag.substr(0, flag.find('='));
    bool known = std::any_of(session.config.consumers.begin(), session.config.consumers.end(),
                             [&](const config::Consumer& c) { return c.name == name; });
    if (!known && session.options.consumer.empty()) {
      throw UsageError(fmt::format("--timings {}: the config has no consumer '{}'", flag, name));
    }
  }
  for (const auto& consumer : session.config.consumers) {
    auto it = pins.find(consumer.name);
    if (it == pins.end()) continue;  // no plan for it: the local store prices its split
    if (it->second.empty()) {
      // The plan found no shared durations: every shard of it splits by
      // none, never by its own local store (which another shard lacks).
      pinned.emplace(consumer.name, suite::PinnedTimings{});
      continue;
    }
    pinned.emplace(consumer.name, session.clock.measure("timings:" + consumer.name, [&] {
      return fetch_pinned(session.registry(), repository_of(session.config).repository, consumer.name, it->second,
                          std::filesystem::absolute(session.cache_dir()));
    }));
  }
  return pinned;
}

}  // namespace

ExitCode run(const CommonOptions& common, const RunOptions& options) {
  if (options.shard.given() && !options.dry_run) {
    // One shard's tests are not the consumers' tests: publishing on them
    // would ship what the other shards never ran.
    throw UsageError(
        fmt::format("run --shard {}/{} would publish on one shard's tests: add --dry-run, or run the "
                    "shards with `gate test` and publish the verdict of `gate merge`",
                    options.shard.index, options.shard.count));
  }
  Session session(common, "run");
  auto& config = session.config;
  auto& verdict = session.verdict;
  auto& clock = session.clock;
  verdict.dry_run = options.dry_run;
  return with_reports(session, [&] {
    if (!options.changed_since.empty()) {
      verdict.changes = change_scope(config, options.changed_since);
      if (!verdict.changes->relevant) {
        verdict.skipped = true;
        verdict.exit_code = ExitCode::passed;
        verdict.reasons.push_back(fmt::format(
            "skipped: no relevant change: {} file(s) changed since {} (merge base {}), none matches paths [{}]",
            verdict.changes->files_changed, options.changed_since, verdict.changes->merge_base.substr(0, 12),
            fmt::join(verdict.changes->paths, ", ")));
        log::info(verdict.reasons.back());
        return;
      }
      log::info(fmt::format("{} file(s) changed since {}; {} match paths, so the gate runs",
                            verdict.changes->files_changed, options.changed_since, verdict.changes->matched.size()));
    }
    session.select_consumers();
    session.preflight();
    if (!options.shard.given()) session.record_upload_ahead();
    auto& registry = session.registry();
    auto watch = watch_containers(config);
    // Where the publish tags point now: compare-and-swap expects them there at the end.
    verdict.tags_seen = observe_tags(registry, release_path(config), config.image.publish_tags);
    // Build and checkout do not depend on each other: run them at once.
    Checkouts checkouts;
    auto checkouts_future =
        std::async(std::launch::async, [&] { checkout_all(config, session.cache_dir(), clock, checkouts); });
    beside(checkouts_future, [&] {
      if (options.candidate.empty()) {
        verdict.candidate = build_candidate(config, session.engine(), registry, common.report_dir, clock);
      } else {
        verdict.candidate = resolve_candidate(config, registry, options.candidate, &session.candidate_seen);
      }
    });
    test_consumers(session, options.shard, checkouts);
    if (watch) {
      // The one cost of recording on the critical path: ending the watch.
      auto start = std::chrono::steady_clock::now();
      verdict.containers = engine::to_json(watch->finish());
      verdict.containers["watch_stop_seconds"] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    decide(verdict);
    note_already_published(config, verdict);
    log_reasons(verdict);
    if (verdict.exit_code != ExitCode::passed) return;
    if (tested_whole(verdict)) record_verification(registry, config, verdict, session.candidate_seen);
    if (options.dry_run) {
      log::info("dry run: nothing published");
      return;
    }
    interrupt::throw_if_requested();
    auto expect = expectations(options.expect_current, config, verdict.tags_seen);
    verdict.published = clock.measure("publish", [&] {
      return publish_candidate(registry, common.registry, config, verdict.candidate.digest, expect, session.cache_dir(),
                               options.serialized, &verdict.publish_requests,
                               {"publish", "verified by gate run: every consumer passed"});
    });
  });
}

ExitCode build(const CommonOptions& common) {
  Session session(common, "build");
  session.preflight();
  auto candidate =
      build_candidate(session.config, session.engine(), session.registry(), common.report_dir, session.clock);
  std::printf("%s:%s@%s\n", candidate.repository.c_str(), candidate.tag.c_str(), candidate.digest.c_str());
  std::fflush(stdout);
  return ExitCode::passed;
}

ExitCode checkout(const CommonOptions& common) {
  Session session(common, "checkout");
  session.select_consumers();
  Checkouts checkouts;
  checkout_all(session.config, session.cache_dir(), session.clock, checkouts);
  for (size_t i = 0; i < checkouts.list.size(); ++i) {
    std::printf("%s %s\n", session.config.consumers[i].name.c_str(), checkouts.list[i].commit.c_str());
  }
  std::fflush(stdout);
  return ExitCode::passed;
}

// The job's consumers: the config narrowed to the units of the plan's job
// (none when the CI started more jobs than the plan has).
std::map<std::string, Unit> narrow_to_job(Session& session, const PlanFile& plan, const TestOptions& options) {
  const std::string plan_name = options.plan_file.string();
  if (options.shard.given() || !session.options.consumer.empty()) {
    throw UsageError("--job runs the consumers and shards its plan assigns: give neither --shard nor --consumer");
  }
  if (plan.jobs.empty()) {
    throw UsageError(fmt::format("--job {}: the plan {} has no jobs (written by an older gate: plan again)",
                                 options.job, plan_name));
  }
  if (options.jobs_started > 0 && static_cast<size_t>(options.jobs_started) < plan.jobs.size()) {
    throw UsageError(fmt::format(
        "the plan {} packed {} jobs but the CI started {} (CI_NODE_TOTAL): jobs past {} would never run; plan "
        "with --max-jobs {} (GitLab: GATE_JOBS equal to the shard job's parallel:)",
        plan_name, plan.jobs.size(), options.jobs_started, options.jobs_started, options.jobs_started));
  }
  if (options.jobs_started == 0 && static_cast<size_t>(options.job) > plan.jobs.size()) {
    throw UsageError(fmt::format("--job {}: the plan {} has {} job(s)", options.job, plan_name, plan.jobs.size()));
  }
  auto units = units_of_job(plan, options.job);
  std::vector<config::Consumer> kept;
  for (auto& consumer : session.config.consumers) {
    if (units.count(consumer.name)) kept.push_back(std::move(consumer));
  }
  if (kept.size() != units.size()) {
    for (const auto& [name, unit] : units) {
      bool known =
          std::any_of(kept.begin(), kept.end(), [&name = name](const config::Consumer& c) { return c.name == name; });
      if (!known) {
        throw UsageError(fmt::format("--job {}: the plan {} names consumer '{}', which {} does not have", options.job,
                                     plan_name, name, session.options.config_file.string()));
      }
    }
  }
  session.config.consumers = std::move(kept);
  std::string names;
  for (const auto& [name, unit] : units)
    names += fmt::format("{}{} {}/{}", names.empty() ? "" : ", ", name, unit.shard, unit.shards);
  log::info(units.empty() ? fmt::format("job {}: the plan has nothing for it", options.job)
                          : fmt::format("job {} of {}: {}", options.job, plan.jobs.size(), names));
  return units;
}

ExitCode test(const CommonOptions& common, const TestOptions& options) {
  if (options.candidate.empty()) throw UsageError("test needs --candidate REF (the image to test)");
  if (options.job > 0 && options.plan_file.empty()) throw UsageError("--job J needs the --plan it is a job of");
  PlanFile plan = options.plan_file.empty() ? PlanFile{} : read_plan_file(options.plan_file);
  Session session(common, "test");
  session.verdict.dry_run = true;
  std::optional<std::map<std::string, Unit>> units;
  return with_reports(session, [&] {
    // The plan's versions, so that every job tests the same ones.
    session.select_consumers(plan.versions ? &*plan.versions : nullptr, options.plan_file.string());
    if (options.job > 0) units = narrow_to_job(session, plan, options);
    session.preflight();  // before the checkouts: a missing registry fails fast, not after a fetch
    // The checkouts ask nothing of the registry: they go on meanwhile.
    Checkouts checkouts;
    auto checkouts_future = std::async(
        std::launch::async, [&] { checkout_all(session.config, session.cache_dir(), session.clock, checkouts); });
    beside(checkouts_future, [&] {
      // Recorded for `publish --verdict`: compare-and-swap expects the tags there.
      // The candidate meanwhile (a round trip of its own); the tags' error,
      // if both fail, is the one reported, as when they were asked first.
      auto candidate = std::async(std::launch::async, [&] {
        session.verdict.candidate =
            resolve_candidate(session.config, session.registry(), options.candidate, &session.candidate_seen);
      });
      beside(candidate, [&] {
        session.verdict.tags_seen =
            observe_tags(session.registry(), release_path(session.config), session.config.image.publish_tags);
      });
    });
    if (!options.shard.given() && !units) session.record_upload_ahead();
    if (units && units->empty()) {
      // A job the CI started beyond the plan's: the fan-in needs its report.
      session.verdict.exit_code = ExitCode::passed;
      session.verdict.reasons.push_back(fmt::format("job {}: the plan assigns it no consumer", options.job));
      return;
    }
    auto pinned = fetch_pins(session, plan, options);
    auto watch = watch_containers(session.config);
    test_consumers(session, options.shard, checkouts, pinned, units ? &*units : nullptr);
    if (watch) session.verdict.containers = engine::to_json(watch->finish());
    decide(session.verdict);
    note_already_published(session.config, session.verdict);
    log_reasons(session.verdict);
    // A whole, passing test is the evidence `publish --candidate` asks for
    // (a shard's is not: merge records the whole).
    if (session.verdict.exit_code == ExitCode::passed && tested_whole(session.verdict))
      record_verification_meanwhile(session);
    // (with_reports writes the deferred timing store beside the reports.)
  });
}

}  // namespace gate::pipeline

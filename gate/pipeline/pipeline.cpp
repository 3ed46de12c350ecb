#include "pipeline/pipeline.h"

#include <fmt/format.h>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <future>
#include <mutex>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/private_env.h"
#include "core/events.h"
#include "engine/container_watch.h"
#include "engine/engine.h"
#include "core/glob.h"
#include "git/changes.h"
#include "git/checkout.h"
#include "pipeline/decide.h"
#include "pipeline/publish.h"
#include "pipeline/verdict_check.h"
#include "pipeline/record.h"
#include "registry/certs.h"
#include "registry/client.h"
#include "registry/reference.h"
#include "report/renderers.h"
#include "suite/consumer_run.h"
#include "suite/coverage.h"
#include "version.h"

namespace gate::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

std::string utc_now(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &tm);
  return buffer;
}

// Records stage timings relative to the start of the run; thread-safe since
// build and checkout run at the same time.
class StageClock {
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
    events::record({{"type", "stage"}, {"name", name}, {"start", std::chrono::duration<double>(start - origin_).count()},
                    {"seconds", std::chrono::duration<double>(end - start).count()}});
    std::lock_guard lock(mutex_);
    verdict_.stages.push_back({name, std::chrono::duration<double>(start - origin_).count(),
                               std::chrono::duration<double>(end - start).count()});
  }
  report::Verdict& verdict_;
  Clock::time_point origin_;
  std::mutex mutex_;
};

// The config, narrowed to --consumer when given.
config::Config load_for(const Options& options) {
  config::Config config = config::load_config(options.config_file);
  // Consumers run as gate's user and could read gate's environ.
  for (const auto& c : config.consumers) {
    if (c.token_env.empty()) continue;
    core::keep_private(c.token_env);
    if (const char* token = std::getenv(c.token_env.c_str())) log::add_secret(token);
  }
  if (options.consumer_filter.empty()) return config;
  std::vector<config::Consumer> kept;
  std::string names;
  for (auto& c : config.consumers) {
    names += (names.empty() ? "" : ", ") + c.name;
    if (c.name == options.consumer_filter) kept.push_back(std::move(c));
  }
  if (kept.empty()) {
    throw UsageError(fmt::format("--consumer {}: no such consumer in {} (it has: {})", options.consumer_filter,
                                 options.config_file.string(), names));
  }
  config.consumers = std::move(kept);
  return config;
}

std::filesystem::path cache_dir_of(const Options& options) {
  return options.cache_dir.empty() ? git::default_cache_dir() : options.cache_dir;
}

registry::Reference repository_of(const config::Config& config) {
  return registry::parse_reference(config.image.repository);
}

// GIT_SHA: the short commit of the repository holding the build context.
std::optional<std::string> git_sha_of(const config::Config& config) {
  auto commit = git::head_commit(config.image.context);
  if (!commit) return std::nullopt;
  return commit->substr(0, 12);
}

std::string candidate_tag_of(const config::Config& config) {
  auto sha = git_sha_of(config);
  if (!config.image.candidate_tag) {
    return sha ? "pr-" + *sha : "pr-" + utc_now("%Y%m%dT%H%M%SZ");
  }
  config::Values values;
  if (sha) values.emplace(std::string(config::kGitSha), *sha);
  std::string tag = config::expand(*config.image.candidate_tag, values, config.file.string());
  if (!registry::is_valid_tag(tag)) {
    throw UsageError(fmt::format("{}: image.candidate_tag expands to '{}', which is not a valid tag",
                                 config.file.string(), tag));
  }
  return tag;
}

report::Candidate build_candidate(const config::Config& config, const engine::Engine& engine,
                                  registry::Client& registry, const std::filesystem::path& report_dir,
                                  StageClock& clock) {
  report::Candidate candidate;
  candidate.repository = config.image.repository;
  candidate.tag = candidate_tag_of(config);
  const std::string tagged = candidate.repository + ":" + candidate.tag;
  log::info(fmt::format("building {} from {}", tagged, config.image.context.string()));
  clock.measure("build", [&] {
    engine.build({config.image.context, config.image.dockerfile, config.image.build_args, tagged,
                  report_dir / "logs" / "build.log"});
  });
  interrupt::throw_if_requested();
  clock.measure("push", [&] { engine.push(tagged, report_dir / "logs" / "build.log"); });
  // The digest is read back from the registry, not from the engine's output:
  // it is what consumers will pull.
  auto ref = repository_of(config);
  auto manifest = registry.get_manifest(ref.repository, candidate.tag);
  if (!manifest) throw InfraError(fmt::format("push {}: the registry has no such tag after the push", tagged));
  candidate.digest = manifest->digest;
  log::info(fmt::format("candidate {}@{}", tagged, candidate.digest));
  return candidate;
}

// --candidate REF: an image already in the registry, in the configured repository.
report::Candidate resolve_candidate(const config::Config& config, registry::Client& registry,
                                    const std::string& text) {
  registry::Reference ref = registry::parse_reference(text);
  if (ref.name() != config.image.repository) {
    throw UsageError(fmt::format("--candidate {} is not in the configured repository {} ({})", text,
                                 config.image.repository, config.file.string()));
  }
  report::Candidate candidate;
  candidate.repository = ref.name();
  candidate.tag = ref.tag;
  auto manifest = registry.get_manifest(ref.repository, ref.digest.empty() ? ref.tag : ref.digest);
  if (!manifest) throw InfraError(fmt::format("candidate {}: not found in the registry", text));
  candidate.digest = manifest->digest;
  return candidate;
}

config::Values placeholders_of(const config::Config& config, const report::Candidate& candidate) {
  config::Values values;
  values.emplace(std::string(config::kCandidate),
                 candidate.tag.empty() ? candidate.repository + "@" + candidate.digest
                                       : candidate.repository + ":" + candidate.tag);
  values.emplace(std::string(config::kCandidateRef), candidate.repository + "@" + candidate.digest);
  values.emplace(std::string(config::kCandidateDigest), candidate.digest);
  values.emplace(std::string(config::kCandidateTag), candidate.tag);
  if (auto sha = git_sha_of(config)) values.emplace(std::string(config::kGitSha), *sha);
  return values;
}

// The run's checkouts: their worktrees are removed when the run ends,
// whatever happened (the mirrors stay in the cache for the next run).
struct Checkouts {
  std::vector<git::Checkout> list;
  Checkouts() = default;
  Checkouts(const Checkouts&) = delete;
  Checkouts& operator=(const Checkouts&) = delete;
  ~Checkouts() {
    for (const auto& checkout : list) git::remove_worktree(checkout);
  }
};

void checkout_all(const config::Config& config, const std::filesystem::path& cache_dir, StageClock& clock,
                  Checkouts& checkouts) {
  for (const auto& consumer : config.consumers) {
    interrupt::throw_if_requested();
    checkouts.list.push_back(clock.measure("checkout:" + consumer.name, [&] {
      git::CheckoutRequest request;
      request.name = consumer.name;
      request.url = consumer.repo;
      request.ref = consumer.ref;
      request.cache_dir = cache_dir;
      request.token_env = consumer.token_env;
      request.token_user = consumer.token_user;
      request.submodules = consumer.submodules;
      request.timeout = consumer.checkout_timeout;
      auto result = git::checkout(request);
      log::info(fmt::format("{}: checked out {} at {}", consumer.name, consumer.ref.empty() ? "default branch" : consumer.ref,
                            result.commit));
      return result;
    }));
  }
}

// The image a run is bound to, and every reference that names it.
suite::ImageBinding binding_of(const config::Config& config, const report::Candidate& image, const char* role) {
  suite::ImageBinding binding;
  binding.role = role;
  binding.digest = image.digest;
  binding.placeholders = placeholders_of(config, image);
  binding.refs = {image.repository + "@" + image.digest};
  if (!image.tag.empty()) binding.refs.push_back(image.repository + ":" + image.tag);
  return binding;
}

void test_consumers(const Options& options, const config::Config& config, const Checkouts& checkouts,
                    const engine::Engine& engine, const std::filesystem::path& report_dir,
                    report::Verdict& verdict, StageClock& clock) {
  suite::RunContext context;
  context.config = &config;
  context.candidate = binding_of(config, verdict.candidate, "candidate");
  context.shard_index = options.shard_index;
  context.shard_count = options.shard_count;
  context.cache_dir = std::filesystem::absolute(cache_dir_of(options));
  // The baseline: where the first publish tag pointed when the run started.
  if (config.image.publish_tags.empty()) {
    context.baseline_unavailable = "the config has no publish tag, so there is no published image";
  } else {
    const std::string& tag = config.image.publish_tags.front();
    auto it = verdict.tags_seen.find(tag);
    if (it == verdict.tags_seen.end() || it->second.empty()) {
      context.baseline_unavailable = fmt::format("no published image yet ({}:{} is not set)",
                                                 config.image.release_repository(), tag);
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
  context.engine = &engine;
  for (size_t i = 0; i < config.consumers.size(); ++i) {
    interrupt::throw_if_requested();
    // A consumer that is one unit runs on the first shard only.
    if (config.consumers[i].runner == "command" && options.shard_count > 0 && options.shard_index != 1) continue;
    verdict.consumers.push_back(clock.measure("test:" + config.consumers[i].name, [&] {
      return suite::run_consumer(config.consumers[i], checkouts.list[i], context);
    }));
  }
  if (config.coverage) {
    verdict.coverage = clock.measure("coverage", [&] {
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

report::Verdict new_verdict(const Options& options, const char* command) {
  report::Verdict verdict;
  verdict.gate_version = kGateVersion;
  verdict.config_file = options.config_file.string();
  verdict.command = command;
  verdict.dry_run = options.dry_run;
  verdict.started_at = utc_now("%Y-%m-%dT%H:%M:%SZ");
  return verdict;
}

}  // namespace

registry::ClientOptions client_options(const Options& options, const config::Config& config) {
  registry::ClientOptions client;
  client.deadline = options.registry_timeout;
  std::string host = repository_of(config).registry;
  for (const auto& list : {options.insecure_registries, config.insecure_registries}) {
    if (std::find(list.begin(), list.end(), host) != list.end()) client.insecure = true;
  }
  if (!client.insecure) {
    auto cas = registry::registry_cas(options.registry_certs_dir.empty() ? registry::default_certs_dir()
                                                                         : options.registry_certs_dir,
                                      host);
    for (const auto& file : cas.files) log::info(fmt::format("registry {}: also trusting the CA in {}", host, file.string()));
    client.ca_pem = std::move(cas.pem);
  }
  return client;
}

namespace {

std::string release_path(const config::Config& config) {
  return registry::parse_reference(config.image.release_repository()).repository;
}

// Compare-and-swap expectations: --expect-current wins; else, with
// compare_and_swap on, what the gate saw before testing.
std::map<std::string, std::string> expectations(const Options& options, const config::Config& config,
                                                const std::map<std::string, std::string>& seen) {
  std::map<std::string, std::string> expect;
  for (const auto& text : options.expect_current) {
    auto eq = text.find('=');
    std::string tag = eq == std::string::npos ? "" : text.substr(0, eq);
    std::string digest = eq == std::string::npos ? text : text.substr(eq + 1);
    if (digest == "none") digest.clear();
    if (!digest.empty() && !registry::is_valid_digest(digest)) {
      throw UsageError(fmt::format("--expect-current {}: '{}' is not a digest (sha256:...) or 'none'", text, digest));
    }
    if (!tag.empty() && std::find(config.image.publish_tags.begin(), config.image.publish_tags.end(), tag) ==
                            config.image.publish_tags.end()) {
      throw UsageError(fmt::format("--expect-current {}: '{}' is not one of the publish tags", text, tag));
    }
    for (const auto& t : config.image.publish_tags) {
      if (tag.empty() || tag == t) expect[t] = digest;
    }
  }
  if (expect.empty() && config.image.compare_and_swap) expect = seen;
  return expect;
}

std::vector<report::PublishedTag> publish_candidate(registry::Client& registry, const Options& options,
                                                    const config::Config& config, const std::string& digest,
                                                    const std::map<std::string, std::string>& expect,
                                                    std::string* requests) {
  PublishRequest request;
  request.source_repository = repository_of(config).repository;
  request.target_repository = release_path(config);
  request.digest = digest;
  request.tags = config.image.publish_tags;
  request.expect = expect;
  // Long enough for a stalled registry that answers again within a couple of
  // its own timeouts; bounded so a dead one ends the run.
  request.rollback_budget = std::clamp<std::chrono::milliseconds>(2 * options.registry_timeout, std::chrono::seconds(10),
                                                                  std::chrono::minutes(5));
  auto before = registry.stats();
  auto published = publish(registry, request);
  auto after = registry.stats();
  registry::HttpStats cost;
  for (const auto& [method, count] : after.requests) cost.requests[method] = count - before.requests[method];
  cost.bytes_sent = after.bytes_sent - before.bytes_sent;
  cost.bytes_received = after.bytes_received - before.bytes_received;
  *requests = cost.describe();
  log::info(fmt::format("publish cost {}", *requests));
  return published;
}

// PR mode: did the change since BASE touch any of the configured paths?
report::ChangeScope change_scope(const config::Config& config, const std::string& base) {
  git::Changes changes = git::changed_files(config.image.context, base);
  report::ChangeScope scope;
  scope.base = base;
  scope.merge_base = changes.base_commit;
  scope.head = changes.head_commit;
  scope.files_changed = changes.files.size();
  scope.paths = config.paths.empty() ? std::vector<std::string>{"**"} : config.paths;
  for (const auto& file : changes.files) {
    for (const auto& glob : scope.paths) {
      if (glob_match(glob, file)) {
        if (scope.matched.size() < 50) scope.matched.push_back(file);
        break;
      }
    }
  }
  scope.relevant = !scope.matched.empty();
  return scope;
}

// Attaches the verified-digest record; a failure to record is a warning: the
// verification itself happened.
void record_verification(registry::Client& registry, const config::Config& config, const report::Verdict& verdict) {
  try {
    attach_record(registry, repository_of(config).repository, verdict);
  } catch (const Interrupted&) {
    throw;
  } catch (const Error& e) {
    log::warn(fmt::format("could not attach the verification record: {}", e.what()));
  }
}

// The repositories whose containers the run watches: the candidate's and
// the release repository's (baseline reruns).
std::unique_ptr<engine::ContainerWatch> watch_containers(const config::Config& config) {
  if (!events::enabled()) return nullptr;
  return std::make_unique<engine::ContainerWatch>(
      std::vector<std::string>{config.image.repository, config.image.release_repository()});
}

// Everything one command works with: the config, the verdict being filled
// in, its stage clock, and the two outside worlds.
struct Session {
  Session(const Options& options, const char* command)
      : options(options),
        config(load_for(options)),
        verdict(new_verdict(options, command)),
        clock(verdict),
        registry(repository_of(config).registry, client_options(options, config)) {
    verdict.publish_repository = config.image.release_repository();
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Fail fast, naming what is missing, before any work starts.
  void preflight() {
    registry.check_reachable();
    engine.check_reachable();
  }

  const Options& options;
  config::Config config;
  report::Verdict verdict;
  StageClock clock;
  engine::Engine engine;
  registry::Client registry;
};

// Runs `body`, then writes the reports whatever happened; errors are
// recorded in the verdict and passed on to the CLI.
long own_peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

ExitCode with_reports(Session& session, const std::function<void()>& body) {
  report::Verdict& verdict = session.verdict;
  try {
    body();
  } catch (const Error& e) {
    verdict.exit_code = e.code();
    verdict.error = e.what();
    verdict.reasons.push_back(e.what());
    verdict.seconds = session.clock.elapsed();
    verdict.peak_rss_kb = own_peak_rss_kb();
    report::write_reports(verdict, session.options.report_dir);
    throw;
  }
  verdict.seconds = session.clock.elapsed();
  verdict.peak_rss_kb = own_peak_rss_kb();
  report::write_reports(verdict, session.options.report_dir);
  log::info(fmt::format("verdict: {} ({}); reports in {}", exit_code_name(verdict.exit_code),
                        verdict.reasons.empty() ? "" : verdict.reasons.front(), session.options.report_dir.string()));
  return verdict.exit_code;
}

void log_reasons(const report::Verdict& verdict) {
  if (verdict.exit_code != ExitCode::blocked) return;
  for (const auto& reason : verdict.reasons) log::error(fmt::format("blocked: {}", reason));
}

}  // namespace

ExitCode run(const Options& options) {
  Session session(options, "run");
  auto& config = session.config;
  auto& verdict = session.verdict;
  auto& clock = session.clock;
  auto& registry = session.registry;
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
    session.preflight();
    auto watch = watch_containers(config);
    // Where the publish tags point now: compare-and-swap expects them there at the end.
    verdict.tags_seen = observe_tags(registry, release_path(config), config.image.publish_tags);
    // Build and checkout do not depend on each other: run them at once.
    Checkouts checkouts;
    auto checkouts_future =
        std::async(std::launch::async, [&] { checkout_all(config, cache_dir_of(options), clock, checkouts); });
    try {
      if (options.candidate.empty()) {
        verdict.candidate = build_candidate(config, session.engine, registry, options.report_dir, clock);
      } else {
        verdict.candidate = resolve_candidate(config, registry, options.candidate);
      }
    } catch (...) {
      try {
        checkouts_future.get();  // let the checkout finish or fail; its error is secondary
      } catch (...) {
      }
      throw;
    }
    checkouts_future.get();
    test_consumers(options, config, checkouts, session.engine, options.report_dir, verdict, clock);
    if (watch) {
      // The one cost of recording on the critical path: ending the watch.
      auto start = std::chrono::steady_clock::now();
      verdict.containers = engine::to_json(watch->finish());
      verdict.containers["watch_stop_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    decide(verdict);
    note_already_published(config, verdict);
    log_reasons(verdict);
    if (verdict.exit_code != ExitCode::passed) return;
    record_verification(registry, config, verdict);
    if (options.dry_run) {
      log::info("dry run: nothing published");
      return;
    }
    interrupt::throw_if_requested();
    auto expect = expectations(options, config, verdict.tags_seen);
    verdict.published = clock.measure("publish", [&] {
      return publish_candidate(registry, options, config, verdict.candidate.digest, expect,
                               &verdict.publish_requests);
    });
  });
}

ExitCode build(const Options& options) {
  Session session(options, "build");
  session.preflight();
  auto candidate = build_candidate(session.config, session.engine, session.registry, options.report_dir, session.clock);
  std::printf("%s:%s@%s\n", candidate.repository.c_str(), candidate.tag.c_str(), candidate.digest.c_str());
  std::fflush(stdout);
  return ExitCode::passed;
}

ExitCode checkout(const Options& options) {
  config::Config config = load_for(options);
  report::Verdict verdict = new_verdict(options, "checkout");
  StageClock clock(verdict);
  Checkouts checkouts;
  checkout_all(config, cache_dir_of(options), clock, checkouts);
  for (size_t i = 0; i < checkouts.list.size(); ++i) {
    std::printf("%s %s\n", config.consumers[i].name.c_str(), checkouts.list[i].commit.c_str());
  }
  std::fflush(stdout);
  return ExitCode::passed;
}

ExitCode test(const Options& options) {
  if (options.candidate.empty()) throw UsageError("test needs --candidate REF (the image to test)");
  Session session(options, "test");
  session.verdict.dry_run = true;
  return with_reports(session, [&] {
    session.preflight();
    // Recorded for `publish --verdict`: compare-and-swap expects the tags there.
    session.verdict.tags_seen =
        observe_tags(session.registry, release_path(session.config), session.config.image.publish_tags);
    session.verdict.candidate = resolve_candidate(session.config, session.registry, options.candidate);
    auto watch = watch_containers(session.config);
    Checkouts checkouts;
    checkout_all(session.config, cache_dir_of(options), session.clock, checkouts);
    test_consumers(options, session.config, checkouts, session.engine, options.report_dir, session.verdict, session.clock);
    if (watch) session.verdict.containers = engine::to_json(watch->finish());
    decide(session.verdict);
    note_already_published(session.config, session.verdict);
    log_reasons(session.verdict);
  });
}

ExitCode publish(const Options& options) {
  config::Config config = config::load_config(options.config_file);
  if (options.candidate.empty() && options.verdict_file.empty()) {
    throw UsageError("publish needs --verdict verdict.json (of a passing run) or --candidate REPOSITORY@sha256:...");
  }
  std::string digest;
  std::map<std::string, std::string> seen;
  if (!options.verdict_file.empty()) {
    VerdictClaim claim = read_verdict(options.verdict_file, config);
    digest = claim.digest;
    seen = claim.tags_seen;
  }
  if (!options.candidate.empty()) {
    registry::Reference ref = registry::parse_reference(options.candidate);
    if (ref.digest.empty()) {
      throw UsageError(fmt::format("publish {}: give the tested digest (REPOSITORY@sha256:...); "
                                   "a tag could have moved since it was tested",
                                   options.candidate));
    }
    if (ref.name() != config.image.repository) {
      throw UsageError(fmt::format("publish {}: not in the configured repository {}", options.candidate,
                                   config.image.repository));
    }
    if (!digest.empty() && digest != ref.digest) {
      throw Error(ExitCode::blocked, fmt::format("publish refused: --candidate {} is not the digest {} the verdict passed",
                                                 options.candidate, digest));
    }
    digest = ref.digest;
  }
  auto expect = expectations(options, config, seen);
  // No preflight here: the first request says if the registry is not there,
  // and publishing stays 1 GET + a HEAD and a PUT per tag.
  registry::Client registry(repository_of(config).registry, client_options(options, config));
  if (options.require_record) {
    std::string missing;
    for (const auto& v : read_records(registry, repository_of(config).repository, digest, config)) {
      if (!v.verified) missing += (missing.empty() ? "" : ", ") + v.consumer;
    }
    if (!missing.empty()) {
      throw Error(ExitCode::blocked, fmt::format("publish refused: {} has no verification record for {} "
                                                 "(--require-record)",
                                                 digest, missing));
    }
  }
  if (options.dry_run) {
    log::info(fmt::format("dry run: would move {} to {}", fmt::join(config.image.publish_tags, ", "), digest));
    return ExitCode::passed;
  }
  std::string requests;
  auto published = publish_candidate(registry, options, config, digest, expect, &requests);
  for (const auto& p : published) {
    std::printf("%s:%s %s (was %s)\n", config.image.release_repository().c_str(), p.tag.c_str(), p.digest.c_str(),
                p.previous_digest.empty() ? "new" : p.previous_digest.c_str());
  }
  std::fflush(stdout);
  return ExitCode::passed;
}

ExitCode plan(const Options& options) {
  config::Config config = load_for(options);
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
    int shards = c.runner == "command" ? 1 : (options.plan_shards > 0 ? options.plan_shards : c.shards);
    for (int k = 1; k <= shards; ++k) {
      include.push_back({{"consumer", c.name}, {"shard", k}, {"shards", shards}, {"name", fmt::format("{} {}/{}", c.name, k, shards)}});
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

ExitCode status(const Options& options) {
  config::Config config = load_for(options);
  registry::Reference ref = registry::parse_reference(options.candidate);
  if (ref.name() != config.image.repository) {
    throw UsageError(fmt::format("status {}: not in the configured repository {}", options.candidate, config.image.repository));
  }
  registry::Client registry(ref.registry, client_options(options, config));
  std::string digest = ref.digest;
  if (digest.empty()) {
    auto manifest = registry.get_manifest(ref.repository, ref.tag.empty() ? "latest" : ref.tag);
    if (!manifest) throw InfraError(fmt::format("status {}: no such image in the registry", options.candidate));
    digest = manifest->digest;
  }
  bool all = true;
  for (const auto& v : read_records(registry, ref.repository, digest, config)) {
    all = all && v.verified;
    if (v.verified) {
      std::printf("%s: verified at commit %s on %s (record %s)\n", v.consumer.c_str(), v.commit.c_str(),
                  v.verified_at.c_str(), v.record.c_str());
    } else {
      std::printf("%s: not verified\n", v.consumer.c_str());
    }
  }
  std::printf("%s@%s: %s\n", ref.name().c_str(), digest.c_str(),
              all ? "can be deployed: verified against every consumer" : "NOT verified against every consumer");
  std::fflush(stdout);
  return all ? ExitCode::passed : ExitCode::blocked;
}

ExitCode validate(const Options& options) {
  config::Config config = config::load_config(options.config_file);
  std::printf("%s: valid (%zu consumer%s, image %s, publish tags %s)\n", options.config_file.c_str(),
              config.consumers.size(), config.consumers.size() == 1 ? "" : "s", config.image.repository.c_str(),
              fmt::format("{}", fmt::join(config.image.publish_tags, ", ")).c_str());
  return ExitCode::passed;
}

}  // namespace gate::pipeline

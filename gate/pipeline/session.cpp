#include "pipeline/session.h"

#include <fmt/format.h>

#include <sys/resource.h>
#include <cstdio>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "core/concurrent.h"
#include "core/error.h"
#include "core/file_lock.h"
#include "core/glob.h"
#include "core/log.h"
#include "core/private_env.h"
#include "git/changes.h"
#include "git/checkout.h"
#include "pipeline/history.h"
#include "pipeline/publish.h"
#include "pipeline/record.h"
#include "pipeline/referrers.h"
#include "registry/certs.h"
#include "registry/digest.h"
#include "report/renderers.h"
#include "version.h"

namespace gate::pipeline {

namespace {

// The config; token_env variables made private.
config::Config load_for(const CommonOptions& options) {
  config::Config config = config::load_config(options.config_file);
  // Consumers run as gate's user and could read gate's environ.
  for (const auto& c : config.consumers) {
    if (c.token_env.empty()) continue;
    core::keep_private(c.token_env);
    if (const char* token = std::getenv(c.token_env.c_str())) log::add_secret(token);
  }
  return config;
}

// The tags that moved, appended to the release repository's history with
// the record that vouched for the digest.
void note_moves(registry::Client& registry, const config::Config& config, const std::string& digest,
                const std::vector<report::PublishedTag>& published, const MoveReason& reason) {
  std::vector<HistoryEntry> entries;
  std::string record;
  try {
    for (const auto& v : read_records(registry, repository_of(config).repository, digest, config))
      if (v.verified && record.empty()) record = v.record;
  } catch (const InfraError&) {
  }
  for (const auto& p : published) {
    if (p.previous_digest == p.digest) continue;  // did not move
    entries.push_back({utc_now("%Y-%m-%dT%H:%M:%SZ"), current_actor(), reason.action, p.tag, p.previous_digest,
                       p.digest, record, reason.why, current_run_url()});
  }
  try {
    append_history(registry, release_path(config), entries);
  } catch (const InfraError& e) {
    log::warn(
        fmt::format("the tags moved, but their history in {} was not written: {}", release_path(config), e.what()));
  }
}

std::filesystem::path cache_dir_of(const CommonOptions& options) {
  return options.cache_dir.empty() ? git::default_cache_dir() : options.cache_dir;
}

}  // namespace

std::string utc_now(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &tm);
  return buffer;
}

registry::Reference repository_of(const config::Config& config) {
  return registry::parse_reference(config.image.repository);
}

std::string release_path(const config::Config& config) {
  return registry::parse_reference(config.image.release_repository()).repository;
}

Session::Session(const CommonOptions& options, const char* command)
    : options(options), config(load_for(options)), clock(verdict) {
  verdict.gate_version = kGateVersion;
  verdict.config_file = options.config_file.string();
  verdict.command = command;
  verdict.started_at = utc_now("%Y-%m-%dT%H:%M:%SZ");
  verdict.publish_repository = config.image.release_repository();
}

std::filesystem::path Session::cache_dir() const { return cache_dir_of(options); }

void Session::select_consumers(const Versions* pinned, const std::string& pinned_by) {
  Versions versions = pinned ? *pinned : resolve_versions(config, cache_dir());
  add_versions(config, versions, pinned ? pinned_by : options.config_file.string());
  verdict.versions = versions;
  if (options.consumer.empty()) return;
  std::vector<config::Consumer> kept;
  std::string names;
  for (auto& c : config.consumers) {
    names += (names.empty() ? "" : ", ") + c.name;
    if (c.name == options.consumer) kept.push_back(std::move(c));
  }
  if (kept.empty()) {
    throw UsageError(fmt::format("--consumer {}: no such consumer in {} (it has: {})", options.consumer,
                                 options.config_file.string(), names));
  }
  config.consumers = std::move(kept);
}

registry::Client& Session::registry() {
  if (!registry_) registry_.emplace(repository_of(config).registry, client_options(options.registry, config));
  return *registry_;
}

void Session::preflight() {
  const engine::Engine& engine_to_check = engine();  // made here: engine() is not for two threads
  auto engine_check = std::async(std::launch::async, [&engine_to_check] { engine_to_check.check_reachable(); });
  beside(engine_check, [this] { registry().check_reachable(); });
}

std::function<void()> Session::tests_started() {
  if (!record_upload_wanted_) return {};
  // (The registry client exists: the candidate was resolved through it.)
  return [this, &registry = registry(), repository = repository_of(config).repository] {
    std::call_once(record_upload_opened_, [&] {
      record_upload_ahead_ =
          std::async(std::launch::async, [&registry, repository] { registry.open_upload_ahead(repository); });
    });
  };
}

void Session::close_record_upload_ahead() {
  if (record_upload_ahead_.valid()) record_upload_ahead_.wait();
  if (registry_) registry_->cancel_uploads_ahead();
}

const engine::Engine& Session::engine() {
  if (!engine_) engine_ = engine::docker_cli();
  return *engine_;
}

registry::ClientOptions client_options(const RegistryAccess& access, const config::Config& config) {
  registry::ClientOptions client;
  client.deadline = access.timeout;
  std::string host = repository_of(config).registry;
  for (const auto& list : {access.insecure, config.insecure_registries}) {
    if (std::find(list.begin(), list.end(), host) != list.end()) client.insecure = true;
  }
  if (!client.insecure) {
    auto cas =
        registry::registry_cas(access.certs_dir.empty() ? registry::default_certs_dir() : access.certs_dir, host);
    for (const auto& file : cas.files)
      log::info(fmt::format("registry {}: also trusting the CA in {}", host, file.string()));
    client.ca_pem = std::move(cas.pem);
  }
  return client;
}

std::map<std::string, std::string> expectations(const std::vector<std::string>& expect_current,
                                                const config::Config& config,
                                                const std::map<std::string, std::string>& seen) {
  std::map<std::string, std::string> expect;
  for (const auto& text : expect_current) {
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

std::vector<report::PublishedTag> publish_candidate(registry::Client& registry, const RegistryAccess& access,
                                                    const config::Config& config, const std::string& digest,
                                                    const std::map<std::string, std::string>& expect,
                                                    const std::filesystem::path& cache_dir, bool serialized,
                                                    std::string* requests, const MoveReason& reason) {
  // Gates sharing this cache publish to a repository one at a time: each
  // looks at the tags only once the one before has finished moving them, so
  // compare-and-swap among them is exact (gates elsewhere: see publish.h).
  // Keyed by the repository's path alone: one registry may be reached under
  // several names (localhost and 127.0.0.1, a proxy); two registries that
  // share a path only wait for each other.
  const std::string target = fmt::format("{}/{}", registry.registry(), release_path(config));
  const std::string key = registry::sha256_digest(release_path(config)).substr(7, 16);
  FileLock lock(cache_dir / "locks" / ("publish-" + key + ".lock"), [&] {
    log::info(fmt::format("waiting for another gate on this machine that is publishing to {}", target));
  });
  PublishRequest request;
  request.source_repository = repository_of(config).repository;
  request.target_repository = release_path(config);
  request.digest = digest;
  request.tags = config.image.publish_tags;
  request.expect = expect;
  // The window lets two writers that claimed the first tag at the same
  // moment both see which claim stands; under the caller's lock there are
  // no two (this machine's gates are ordered by the lock above).
  if (serialized) request.settle = std::chrono::milliseconds(0);
  // Long enough for a stalled registry that answers again within a couple of
  // its own timeouts; bounded so a dead one ends the run.
  request.rollback_budget =
      std::clamp<std::chrono::milliseconds>(2 * access.timeout, std::chrono::seconds(10), std::chrono::minutes(5));
  auto before = registry.stats();
  auto published = publish(registry, request);
  auto after = registry.stats();
  registry::HttpStats cost;
  for (const auto& [method, count] : after.requests)
    if (count != before.requests[method]) cost.requests[method] = count - before.requests[method];
  cost.bytes_sent = after.bytes_sent - before.bytes_sent;
  cost.bytes_received = after.bytes_received - before.bytes_received;
  *requests = cost.describe();
  log::info(fmt::format("publish cost {}", *requests));
  note_moves(registry, config, digest, published, reason);
  // What is attached to the digest goes with it: its records, signatures
  // and attestations. The tags have moved; a failure here warns.
  if (request.target_repository != request.source_repository) {
    try {
      size_t copied = copy_referrers(registry, request.source_repository, request.target_repository, digest);
      log::info(fmt::format("carried {} referrer(s) of {} into {}", copied, digest, target));
    } catch (const InfraError& e) {
      log::warn(
          fmt::format("the tags moved, but the referrers of {} (records, signatures) were not carried into {}: {}",
                      digest, target, e.what()));
    }
  }
  return published;
}

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

void print_moved(const config::Config& config, const std::vector<report::PublishedTag>& moved) {
  for (const auto& p : moved) {
    std::printf("%s:%s %s (was %s)\n", config.image.release_repository().c_str(), p.tag.c_str(), p.digest.c_str(),
                p.previous_digest.empty() ? "new" : p.previous_digest.c_str());
  }
  std::fflush(stdout);
}

void record_verification(registry::Registry& registry, const config::Config& config, const report::Verdict& verdict,
                         const registry::Descriptor& subject_seen) {
  try {
    attach_record(registry, repository_of(config).repository, record_of(verdict, config.digest, subject_seen));
  } catch (const Interrupted&) {
    throw;
  } catch (const Error& e) {
    log::warn(fmt::format("could not attach the verification record: {}", e.what()));
  }
}

std::unique_ptr<engine::ContainerWatch> watch_containers(const config::Config& config) {
  if (!events::enabled()) return nullptr;
  return std::make_unique<engine::ContainerWatch>(
      std::vector<std::string>{config.image.repository, config.image.release_repository()});
}

long own_peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// What the machine spent on gate itself so far (a test's own CPU is its process's, not counted).
double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void record_verification_meanwhile(Session& session) {
  // What the requests need is taken now: the verdict is the reports' meanwhile.
  auto attach = [&registry = session.registry(), repository = repository_of(session.config).repository,
                 record = record_of(session.verdict, session.config.digest, session.candidate_seen),
                 upload_ahead = session.take_record_upload_ahead()] {
    try {
      if (upload_ahead.valid()) upload_ahead.wait();
      attach_record(registry, repository, record);
    } catch (const Interrupted&) {
      throw;
    } catch (const Error& e) {
      log::warn(fmt::format("could not attach the verification record: {}", e.what()));
    }
  };
  session.meanwhile = std::async(std::launch::async, std::move(attach));
}

namespace {

// Waits for the work of record_verification_meanwhile; an interrupt there
// is passed on, unless the command already failed (its error is the one to report).
void finish_meanwhile(Session& session, bool failed) {
  if (!session.meanwhile.valid()) return;
  try {
    session.meanwhile.get();
  } catch (const Interrupted&) {
    if (!failed) throw;
  }
}

}  // namespace

namespace {

// The reports are written while the deferred work (the timing store) goes
// on, on a thread of its own: neither needs the other, and at 5,000 tests
// each is tens of milliseconds.
void write_reports_beside_deferred(Session& session) {
  auto deferred = std::async(std::launch::async, [&session] { session.after_verdict.run(); });
  report::write_reports(session.verdict, session.options.report_dir);
  deferred.get();  // (run() logs its failures; it throws nothing)
}

}  // namespace

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
    verdict.cpu_seconds = own_cpu_seconds();
    write_reports_beside_deferred(session);
    finish_meanwhile(session, true);
    session.close_record_upload_ahead();
    throw;
  }
  verdict.seconds = session.clock.elapsed();
  verdict.peak_rss_kb = own_peak_rss_kb();
  verdict.cpu_seconds = own_cpu_seconds();
  write_reports_beside_deferred(session);
  try {
    finish_meanwhile(session, false);
  } catch (const Interrupted& e) {
    // Interrupted while recording: the reports say so, as they would have.
    verdict.exit_code = e.code();
    verdict.error = e.what();
    verdict.reasons.push_back(e.what());
    report::write_reports(verdict, session.options.report_dir);
    session.close_record_upload_ahead();
    throw;
  }
  session.close_record_upload_ahead();
  log::info(fmt::format("verdict: {} ({}); reports in {}", exit_code_name(verdict.exit_code),
                        verdict.reasons.empty() ? "" : verdict.reasons.front(), session.options.report_dir.string()));
  return verdict.exit_code;
}

void log_reasons(const report::Verdict& verdict) {
  if (verdict.exit_code != ExitCode::blocked) return;
  // A terminal, a CI log: the first ones; the reports hold every one.
  constexpr size_t kShown = 50;
  for (size_t i = 0; i < std::min(kShown, verdict.reasons.size()); ++i) {
    log::error(fmt::format("blocked: {}", verdict.reasons[i]));
  }
  if (verdict.reasons.size() > kShown) {
    log::error(fmt::format("blocked: ... and {} more reason(s): every one is in verdict.json",
                           verdict.reasons.size() - kShown));
  }
}

}  // namespace gate::pipeline

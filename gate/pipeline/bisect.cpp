// gate bisect: which commit of the image repository broke the consumers a
// blocked run names. It builds the image of each commit it probes (pushed
// as bisect-<commit>, reused when that tag is there), runs only the
// regressed tests of the regressed consumers against it, each `--repeat`
// times so that a flake cannot mislead it, and names the first bad commit.
// It never publishes and never moves a release tag; its own tags are
// removed afterwards unless --keep-tags.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "git/commits.h"
#include "pipeline/bisect_search.h"
#include "pipeline/candidate.h"
#include "pipeline/pipeline.h"
#include "pipeline/session.h"
#include "registry/digest.h"
#include "report/verdict_json.h"
#include "suite/consumer_run.h"

namespace gate::pipeline {
namespace {

report::Verdict read_blocked_verdict(const std::filesystem::path& file, const config::Config& config) {
  report::Verdict verdict;
  try {
    verdict = report::read_verdict_file(file);
  } catch (const report::MalformedJson& e) {
    throw UsageError(fmt::format("bisect --verdict {}: not a gate verdict: {}", file.string(), e.what()));
  }
  if (verdict.exit_code != ExitCode::blocked) {
    throw UsageError(
        fmt::format("bisect --verdict {}: the run was not blocked by a regression (exit {}); there is "
                    "nothing to bisect",
                    file.string(), static_cast<int>(verdict.exit_code)));
  }
  if (verdict.candidate.repository != config.image.repository) {
    throw UsageError(fmt::format("bisect --verdict {}: it tested {}, not the configured repository {}", file.string(),
                                 verdict.candidate.repository, config.image.repository));
  }
  return verdict;
}

// Each regressed consumer's regressed tests (by id), as the verdict names them.
std::map<std::string, std::set<std::string>> regressions_of(const report::Verdict& verdict) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& consumer : verdict.consumers) {
    for (const auto& test : consumer.tests) {
      if (test.outcome == Outcome::regression || test.outcome == Outcome::timed_out)
        out[consumer.name].insert(test.id());
    }
  }
  return out;
}

// The commit label gate puts on the images it builds.
std::string revision_of(registry::Registry& registry, const std::string& repository, const std::string& digest) {
  auto manifest = registry.get_manifest(repository, digest);
  if (!manifest) return "";
  auto json = nlohmann::json::parse(manifest->body, nullptr, false);
  if (json.is_discarded()) return "";
  if (json.contains("manifests") && json["manifests"].is_array() && !json["manifests"].empty()) {
    return revision_of(registry, repository, json["manifests"][0].value("digest", ""));  // an index: its first image
  }
  if (!json.contains("config") || !json["config"].is_object()) return "";
  auto blob = registry.get_blob(repository, json["config"].value("digest", ""));
  if (!blob) return "";
  auto config = nlohmann::json::parse(*blob, nullptr, false);
  if (config.is_discarded() || !config.contains("config") || !config["config"].is_object()) return "";
  const auto& labels = config["config"].value("Labels", nlohmann::json::object());
  return labels.is_object() ? labels.value(std::string(kRevisionLabel), "") : "";
}

std::string short_id(const std::string& commit) { return commit.substr(0, 12); }

// A suspect: a test of one consumer ("emucli: tests.test_items::test_put").
std::string suspect_name(const std::string& consumer, const std::string& test) { return consumer + ": " + test; }

class Bisection {
 public:
  Bisection(Session& session, const BisectOptions& options, const report::Verdict& verdict)
      : session_(session), options_(options), verdict_(verdict), work_(session.options.report_dir / "bisect") {
    std::filesystem::remove_all(work_);
    std::filesystem::create_directories(work_);
  }
  ~Bisection() { remove_tags(); }

  // The consumers to probe, each at the commit the blocked run tested,
  // never compared with a baseline, never confirmed: the probe counts runs
  // itself.
  void prepare(const std::map<std::string, std::set<std::string>>& regressed) {
    config_ = session_.config;
    config_.consumers.clear();
    for (const auto& consumer : session_.config.consumers) {
      auto it = regressed.find(consumer.name);
      if (it == regressed.end()) continue;
      config::Consumer probe = consumer;
      for (const auto& tested : verdict_.consumers) {
        if (tested.name == consumer.name && !tested.commit.empty()) probe.ref = tested.commit;
      }
      probe.flaky_reruns = 0;
      probe.baseline = false;
      probe.shards = 1;
      config_.consumers.push_back(std::move(probe));
      for (const auto& test : it->second) only_.insert(test);
    }
    checkout_all(config_, session_.cache_dir(), session_.clock, checkouts_);
  }

  // Runs the suspects against `image` (`label` names the probe in logs and
  // directories), `repeat` times each: a test that fails is retried to
  // the same count, so "failed" means it failed every run.
  ProbeRuns probe(const report::Candidate& image, const std::string& label, int repeat) {
    interrupt::throw_if_requested();
    ++probes_;
    for (auto& consumer : config_.consumers) {
      consumer.runs_per_test = repeat;
      consumer.retries = repeat - 1;
    }
    ProbeRuns runs;
    suite::RunContext context;
    context.config = &config_;
    context.candidate = binding_of(config_, image, "candidate");
    context.baseline_unavailable = "bisect compares commits, not the published image";
    context.report_dir = std::filesystem::absolute(work_ / label);
    context.cache_dir = std::filesystem::absolute(work_ / "store");  // the real timing store learns nothing here
    context.engine = &session_.engine();
    context.only_tests = only_;
    std::filesystem::create_directories(context.report_dir / "logs");
    for (size_t i = 0; i < config_.consumers.size(); ++i) {
      const auto& consumer = config_.consumers[i];
      auto result = suite::run_consumer(consumer, checkouts_.list[i], context);
      for (const auto& test : result.tests) {
        if (test.status == report::TestStatus::skipped) continue;
        // Failed every run (its retries too), passed every run (its
        // repeats too), or both: the suite engine calls that flaky.
        TestRuns& seen = runs[suspect_name(consumer.name, test.id())];
        seen.runs = repeat;
        if (test.outcome == Outcome::flaky || test.outcome == Outcome::newly_flaky) {
          seen.failures = 1;
        } else if (test.status != report::TestStatus::passed) {
          seen.failures = repeat;
        }
      }
    }
    log::info(fmt::format("bisect: {}: {}", label, describe(runs)));
    return runs;
  }

  // The image of `commit`: bisect-<commit> when it is there, else built
  // from the commit's files and pushed under that tag.
  report::Candidate image_of(const git::Commit& commit) {
    config::Config build = session_.config;
    const std::string tag = fmt::format("bisect-{}-{}", short_id(commit.id), build_key());
    build.image.candidate_tag = config::Template{tag, {}};
    const std::string repository = repository_of(build).repository;
    if (auto existing = session_.registry().get_manifest(repository, tag)) {
      log::info(fmt::format("bisect: {} is already built ({})", short_id(commit.id), tag));
      return {build.image.repository, tag, existing->digest};
    }
    const auto tree = work_ / "trees" / short_id(commit.id);
    std::filesystem::remove_all(tree);
    git::export_commit(session_.config.image.context, commit.id, tree);
    build.image.context = tree / git::path_in_repository(session_.config.image.context);
    log::info(fmt::format("bisect: building {} {}", short_id(commit.id), commit.subject));
    report::Candidate built = build_candidate(build, session_.engine(), session_.registry(),
                                              work_ / "builds" / short_id(commit.id), session_.clock, commit.id);
    std::filesystem::remove_all(tree);
    ++builds_;
    pushed_.push_back({repository, tag});
    return built;
  }

  size_t builds() const { return builds_; }
  size_t probes() const { return probes_; }

 private:
  // What else the image depends on besides the commit: the build settings.
  std::string build_key() const {
    const auto& image = session_.config.image;
    std::string key = image.dockerfile + "\n" + git::path_in_repository(image.context).string();
    for (const auto& [name, value] : image.build_args) key += "\n" + name + "=" + value;
    return registry::sha256_digest(key).substr(7, 8);
  }

  static std::string describe(const ProbeRuns& runs) {
    std::vector<std::string> parts;
    for (const auto& [test, seen] : runs)
      parts.push_back(fmt::format("{} {}/{} failed", test, seen.failures, seen.runs));
    return parts.empty() ? "no test ran" : fmt::format("{}", fmt::join(parts, ", "));
  }

  // bisect-* tags this run pushed, removed unless --keep-tags. The registry
  // deletes manifests, not tags, and a build the engine's cache served can
  // be an image another tag already names (a release built from the same
  // commit): a manifest is deleted only when no other tag of the
  // repository points at it.
  void remove_tags() noexcept {
    if (options_.keep_tags) return;
    std::map<std::string, std::set<std::string>> named_elsewhere;  // repository -> digests other tags name
    for (const auto& [repository, tag] : pushed_) {
      try {
        if (!named_elsewhere.count(repository)) named_elsewhere[repository] = digests_of_other_tags(repository);
        auto manifest = session_.registry().get_manifest(repository, tag);
        if (!manifest) continue;
        if (manifest->digest == verdict_.candidate.digest || named_elsewhere[repository].count(manifest->digest)) {
          log::info(fmt::format("bisect: leaving {}:{}: another tag names the same image {}", repository, tag,
                                manifest->digest));
          continue;
        }
        if (!session_.registry().delete_manifest(repository, manifest->digest))
          log::warn(fmt::format("bisect: could not remove {}:{} (the registry refuses deletes)", repository, tag));
      } catch (const std::exception& e) {
        log::warn(fmt::format("bisect: could not remove {}:{}: {}", repository, tag, e.what()));
      }
    }
  }

  // The digests every tag of the repository names, but bisect's own.
  std::set<std::string> digests_of_other_tags(const std::string& repository) {
    std::set<std::string> digests;
    for (const auto& tag : session_.registry().list_tags(repository)) {
      if (tag.rfind("bisect-", 0) == 0) continue;
      if (auto digest = session_.registry().head_manifest(repository, tag)) digests.insert(*digest);
    }
    return digests;
  }

  Session& session_;
  const BisectOptions& options_;
  const report::Verdict& verdict_;
  std::filesystem::path work_;
  config::Config config_;
  Checkouts checkouts_;
  std::set<std::string> only_;
  std::vector<std::pair<std::string, std::string>> pushed_;
  size_t builds_ = 0, probes_ = 0;
};

// Keeps the suspects that failed every run on the candidate and passed every
// run on the published image: only those can say on which side a commit is.
// The ends cost no build, so they run twice as often as a probe: a flaky
// test that slips through both would mislead the search.
std::vector<std::string> confirm_ends(Bisection& bisection, const report::Verdict& verdict,
                                      const report::Candidate& published, int repeat, std::set<std::string>& suspects) {
  std::vector<std::string> left_out;
  std::set<std::string> judged = suspects;
  const auto on_candidate = judge_probe(bisection.probe(verdict.candidate, "candidate", 2 * repeat), judged).broken;
  const std::set<std::string> failing(on_candidate.begin(), on_candidate.end());
  ProbeRuns on_published = bisection.probe(published, "published", 2 * repeat);
  for (auto it = suspects.begin(); it != suspects.end();) {
    auto seen = on_published.find(*it);
    const bool passes_there = seen != on_published.end() && seen->second.failures == 0;
    if (!failing.count(*it) || !passes_there) {
      log::info(fmt::format("bisect: leaving out {}: it {}", *it,
                            !failing.count(*it) ? "did not fail every run on the candidate"
                                                : "did not pass every run on the published image"));
      left_out.push_back(*it);
      it = suspects.erase(it);
    } else {
      ++it;
    }
  }
  return left_out;
}

}  // namespace

ExitCode bisect(const CommonOptions& common, const BisectOptions& options) {
  if (options.verdict_file.empty()) throw UsageError("bisect needs --verdict verdict.json (of the blocked run)");
  if (options.repeat < 1 || options.repeat > 20) throw UsageError("bisect --repeat: between 1 and 20");
  Session session(common, "bisect");
  const config::Config& config = session.config;
  const report::Verdict verdict = read_blocked_verdict(options.verdict_file, config);
  session.select_consumers(&verdict.versions, options.verdict_file.string());
  auto regressed = regressions_of(verdict);
  if (regressed.empty()) {
    throw UsageError(
        fmt::format("bisect --verdict {}: it names no regressed test (bisect follows tests the "
                    "consumers' reports name)",
                    options.verdict_file.string()));
  }
  session.preflight();
  registry::Client& registry = session.registry();
  const std::string repository = repository_of(config).repository;
  const std::string published_digest = config.image.publish_tags.empty() ? ""
                                       : verdict.tags_seen.count(config.image.publish_tags.front())
                                           ? verdict.tags_seen.at(config.image.publish_tags.front())
                                           : "";
  if (published_digest.empty() && options.good.empty())
    throw UsageError("bisect: the blocked run saw no published image; give --good REV");
  // The two ends, as commits of the image repository.
  std::string good = options.good, bad = options.bad;
  if (good.empty()) good = revision_of(registry, release_path(config), published_digest);
  if (bad.empty()) bad = revision_of(registry, repository, verdict.candidate.digest);
  if (good.empty())
    throw UsageError(
        "bisect: the published image names no commit (built before gate labelled its "
        "images?); give --good REV");
  if (bad.empty()) bad = "HEAD";
  const git::Commit good_commit = git::resolve_commit(config.image.context, good);
  const git::Commit bad_commit = git::resolve_commit(config.image.context, bad);
  auto commits = git::first_parent_range(config.image.context, good_commit.id, bad_commit.id);
  if (commits.empty()) throw UsageError(fmt::format("bisect: {} and {} are the same commit", good, bad));
  log::info(fmt::format("bisect: {} commit(s) after {} up to {} {}", commits.size(), short_id(good_commit.id),
                        short_id(bad_commit.id), bad_commit.subject));

  Bisection bisection(session, options, verdict);
  bisection.prepare(regressed);
  std::set<std::string> suspects;
  for (const auto& [consumer, tests] : regressed)
    for (const auto& test : tests) suspects.insert(suspect_name(consumer, test));
  report::Candidate published{config.image.release_repository(), "", published_digest};
  if (!options.good.empty()) published = bisection.image_of(good_commit);
  const auto left_out = confirm_ends(bisection, verdict, published, options.repeat, suspects);
  nlohmann::json out = {
      {"good", good_commit.id}, {"bad", bad_commit.id}, {"repeat", options.repeat}, {"left_out", left_out}};
  if (suspects.empty()) {
    log::error(
        "bisect: no regressed test failed every run on the candidate and passed every run on the published "
        "image: nothing to follow (flaky, or not reproduced)");
    return ExitCode::blocked;
  }
  SearchResult found = find_first_bad(commits.size(), suspects, [&](size_t i) {
    return bisection.probe(bisection.image_of(commits[i]), short_id(commits[i].id), options.repeat);
  });
  out["builds"] = bisection.builds();
  out["probes"] = bisection.probes();
  out["flaky"] = found.flaky;
  if (!found.suspects_left) {
    log::error("bisect: every regressed test turned out flaky on the way: no commit can be named");
    return ExitCode::blocked;
  }
  const git::Commit& culprit = commits[found.first_bad];
  out["first_bad"] = {{"commit", culprit.id}, {"subject", culprit.subject}, {"breaks", found.broken}};
  std::ofstream(common.report_dir / "bisect.json") << out.dump(1) << "\n";
  log::info(
      fmt::format("bisect: the first bad commit is {} {}: it breaks {} ({} candidate(s) built, {} probe(s) "
                  "of {} run(s) each)",
                  short_id(culprit.id), culprit.subject, fmt::join(found.broken, ", "), bisection.builds(),
                  bisection.probes(), options.repeat));
  std::printf("%s %s\n", culprit.id.c_str(), culprit.subject.c_str());
  std::fflush(stdout);
  return ExitCode::passed;
}

void bisect_after_block(const CommonOptions& common) {
  BisectOptions options;
  options.verdict_file = common.report_dir / "verdict.json";
  try {
    bisect(common, options);
  } catch (const Interrupted&) {
    throw;
  } catch (const Error& e) {
    log::warn(fmt::format("run --bisect: no commit named: {}", e.what()));
  }
}

}  // namespace gate::pipeline

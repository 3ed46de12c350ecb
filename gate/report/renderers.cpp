#include "report/renderers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/escape.h"
#include "core/events.h"
#include "core/log.h"
#include "report/github.h"
#include "report/html.h"
#include "report/junit.h"

namespace gate::report {
namespace {

// Text from outside in summary.md is always a code span: no HTML, markdown
// or link in a test name or message is rendered (see core/escape.h).
std::string md_cell(const std::string& text) { return core::markdown_code(text); }

bool write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << log::redact(content);
  out.close();
  if (!out) {
    log::warn(fmt::format("could not write report {}", path.string()));
    return false;
  }
  return true;
}

// The same, for a report written as a stream of lines (redacted line by line).
bool write_lines(const std::filesystem::path& path, const std::function<void(const Line&)>& produce) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  produce([&](std::string_view line) { out << log::redact(line) << '\n'; });
  out.close();
  if (!out) {
    log::warn(fmt::format("could not write report {}", path.string()));
    return false;
  }
  return true;
}

nlohmann::json phases_json(const std::vector<ImagePhase>& phases) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : phases) {
    nlohmann::json services = nlohmann::json::array();
    for (const auto& s : p.services) services.push_back({{"name", s.name}, {"image", s.image}, {"container", s.container}});
    out.push_back({{"role", p.role},
                   {"digest", p.digest},
                   {"services", std::move(services)},
                   {"containers_created", p.containers_created},
                   {"worktree", p.worktree.empty() ? "checkout" : p.worktree}});
  }
  return out;
}

nlohmann::json baseline_json(const ConsumerResult& c) {
  const auto& b = c.baseline;
  nlohmann::json pre_new = nlohmann::json::array(), pre_known = nlohmann::json::array();
  for (const auto& t : c.tests) {
    if (t.outcome == "pre-existing") (t.known_before ? pre_known : pre_new).push_back(t.id());
  }
  return {{"status", b.status},
          {"digest", b.digest},
          {"reason", b.reason},
          {"tests_rerun", b.tests_rerun},
          {"extra_executions", b.executions},
          {"pre_existing_new", std::move(pre_new)},
          {"pre_existing_known", std::move(pre_known)}};
}

bool plain_pass(const TestCase& t) {
  return t.status == TestStatus::passed && (t.outcome.empty() || t.outcome == "passed");
}

// Which tests verdict.json lists: all, up to kListedTests; beyond, every test
// that is not a plain pass first (failures, flaky, pre-existing, skipped),
// then plain passes up to the bound, in the report's order. The rest are
// counted (tests_omitted), so a million passing tests make a verdict of a few
// MB, not hundreds.
std::vector<bool> listed_tests(const std::vector<TestCase>& tests) {
  std::vector<bool> keep(tests.size(), tests.size() <= kListedTests);
  if (tests.size() <= kListedTests) return keep;
  size_t listed = 0;
  for (size_t i = 0; i < tests.size() && listed < kListedTests; ++i) {
    if (!plain_pass(tests[i])) keep[i] = (++listed, true);
  }
  for (size_t i = 0; i < tests.size() && listed < kListedTests; ++i) {
    if (!keep[i] && plain_pass(tests[i])) keep[i] = (++listed, true);
  }
  return keep;
}

}  // namespace

nlohmann::json to_json(const Verdict& v) {
  using nlohmann::json;
  json consumers = json::array();
  for (const auto& c : v.consumers) {
    json tests = json::array();
    const std::vector<bool> keep = listed_tests(c.tests);
    size_t omitted = c.tests_omitted;
    for (size_t i = 0; i < c.tests.size(); ++i) {
      const TestCase& t = c.tests[i];
      if (!keep[i]) {
        ++omitted;
        continue;
      }
      json test = {{"id", t.id()}, {"classname", t.classname}, {"name", t.name},
                   {"status", test_status_name(t.status)}, {"seconds", t.seconds}};
      if (!t.message.empty()) test["message"] = t.message;
      if (!t.outcome.empty()) {
        test["outcome"] = t.outcome;
        test["blocks"] = t.blocks;
        test["attempts"] = t.attempts;
      }
      // The evidence, where there was any beyond the first run.
      if (t.confirm_runs > 0) test["confirm"] = {{"runs", t.confirm_runs}, {"failures", t.confirm_failures}};
      if (t.baseline_runs > 0) test["baseline"] = {{"runs", t.baseline_runs}, {"failures", t.baseline_failures}};
      if (t.outcome == "pre-existing" || t.outcome == "flaky") test["known_before"] = t.known_before;
      tests.push_back(std::move(test));
    }
    size_t failed = 0, passed = c.tests_omitted, skipped = 0;
    for (const auto& t : c.tests) {
      if (t.status == TestStatus::passed) ++passed;
      else if (t.status == TestStatus::skipped) ++skipped;
      else ++failed;
    }
    std::map<std::string, size_t> outcomes;
    for (const auto& t : c.tests) {
      if (!t.outcome.empty()) outcomes[t.outcome]++;
    }
    consumers.push_back({{"name", c.name},
                         {"repo", c.repo},
                         {"ref", c.ref},
                         {"commit", c.commit},
                         {"submodules", c.submodules},
                         {"status", consumer_status_name(c.status)},
                         {"process_status", c.process_status},
                         {"exit_status", c.exit_code},
                         {"seconds", c.seconds},
                         {"counts", {{"tests", c.tests.size() + c.tests_omitted}, {"passed", passed}, {"failed", failed}, {"skipped", skipped}}},
                         {"outcomes", outcomes},
                         {"tests", std::move(tests)},
                         {"tests_omitted", omitted},
                         {"reasons", c.reasons},
                         {"log", c.log_file},
                         {"containers_removed", c.containers_removed},
                         {"shard", c.shard},
                         {"setup_cache", c.setup_cache},
                         {"profile", c.profile},
                         {"tests_planned", c.tests_planned},
                         {"baseline", baseline_json(c)},
                         {"phases", phases_json(c.phases)},
                         {"missing", c.missing}});
  }
  json published = json::array();
  for (const auto& p : v.published) {
    published.push_back({{"tag", p.tag},
                         {"previous_digest", p.previous_digest.empty() ? json(nullptr) : json(p.previous_digest)},
                         {"digest", p.digest}});
  }
  json seen = json::object();
  for (const auto& [tag, digest] : v.tags_seen) seen[tag] = digest.empty() ? json(nullptr) : json(digest);
  json stages = json::array();
  for (const auto& s : v.stages) stages.push_back({{"name", s.name}, {"start_seconds", s.start_seconds}, {"seconds", s.seconds}});
  json out = {{"schema", "gate.verdict/v1"},
              {"gate_version", v.gate_version},
              {"command", v.command},
              {"config", v.config_file},
              {"dry_run", v.dry_run},
              {"started_at", v.started_at},
              {"seconds", v.seconds},
              {"candidate", {{"repository", v.candidate.repository}, {"tag", v.candidate.tag}, {"digest", v.candidate.digest}}},
              {"consumers", std::move(consumers)},
              {"decision", {{"verdict", exit_code_name(v.exit_code)}, {"exit_code", static_cast<int>(v.exit_code)}, {"reasons", v.reasons}}},
              {"publish_repository", v.publish_repository},
              {"publish_tags_seen", std::move(seen)},
              {"published", std::move(published)},
              {"publish_requests", v.publish_requests},
              {"stages", std::move(stages)},
              {"peak_rss_kb", v.peak_rss_kb},
              {"containers", v.containers},
              {"exit_code", static_cast<int>(v.exit_code)}};
  if (!v.error.empty()) out["error"] = v.error;
  if (!v.coverage.is_null()) out["coverage"] = v.coverage;
  out["skipped"] = v.skipped;
  if (v.changes) {
    out["changes"] = {{"base", v.changes->base},           {"merge_base", v.changes->merge_base},
                      {"head", v.changes->head},           {"files_changed", v.changes->files_changed},
                      {"paths", v.changes->paths},         {"matched", v.changes->matched},
                      {"relevant", v.changes->relevant}};
  }
  return out;
}

std::string coverage_line(const nlohmann::json& coverage) {
  const std::string kind = coverage.value("kind", "");
  if (coverage.contains("percent")) {
    return fmt::format("Coverage of the candidate ({}): {:.1f}% of {} statements, from {} counter director{} (profile: {}).",
                       kind, coverage["percent"].get<double>(), coverage.value("statements", 0LL),
                       coverage.value("directories", 0), coverage.value("directories", 0) == 1 ? "y" : "ies",
                       coverage.value("profile", ""));
  }
  return fmt::format("Coverage of the candidate ({}): none: {}", kind, coverage.value("error", "unknown"));
}

Verdict verdict_from_json(const nlohmann::json& j) {
  Verdict v;
  v.gate_version = j.value("gate_version", "");
  v.command = j.value("command", "");
  v.config_file = j.value("config", "");
  v.dry_run = j.value("dry_run", false);
  v.started_at = j.value("started_at", "");
  v.seconds = j.value("seconds", 0.0);
  v.candidate.repository = j.at("candidate").value("repository", "");
  v.candidate.tag = j.at("candidate").value("tag", "");
  v.candidate.digest = j.at("candidate").value("digest", "");
  v.exit_code = static_cast<ExitCode>(j.at("exit_code").get<int>());
  v.publish_repository = j.value("publish_repository", "");
  v.skipped = j.value("skipped", false);
  if (j.contains("coverage")) v.coverage = j["coverage"];
  if (j.contains("publish_tags_seen")) {
    for (const auto& [tag, digest] : j["publish_tags_seen"].items()) v.tags_seen[tag] = digest.is_string() ? digest.get<std::string>() : "";
  }
  for (const auto& c : j.at("consumers")) {
    ConsumerResult r;
    r.name = c.at("name").get<std::string>();
    r.repo = c.value("repo", "");
    r.ref = c.value("ref", "");
    r.commit = c.value("commit", "");
    std::string status = c.value("status", "");
    for (auto s : {ConsumerStatus::passed, ConsumerStatus::failed, ConsumerStatus::timed_out, ConsumerStatus::setup_failed,
                   ConsumerStatus::not_run, ConsumerStatus::error}) {
      if (consumer_status_name(s) == status) r.status = s;
    }
    r.process_status = c.value("process_status", "");
    r.exit_code = c.value("exit_status", -1);
    r.seconds = c.value("seconds", 0.0);
    r.reasons = c.value("reasons", std::vector<std::string>{});
    r.log_file = c.value("log", "");
    r.shard = c.value("shard", "");
    r.tests_planned = c.value("tests_planned", size_t{0});
    r.tests_omitted = c.value("tests_omitted", size_t{0});
    r.setup_cache = c.value("setup_cache", "");
    if (c.contains("profile")) r.profile = c["profile"];
    r.submodules = c.value("submodules", std::vector<std::string>{});
    r.missing = c.value("missing", std::vector<std::string>{});
    if (c.contains("baseline") && c["baseline"].is_object()) {
      const auto& b = c["baseline"];
      r.baseline.status = b.value("status", "off");
      r.baseline.digest = b.value("digest", "");
      r.baseline.reason = b.value("reason", "");
      r.baseline.tests_rerun = b.value("tests_rerun", size_t{0});
      r.baseline.executions = b.value("extra_executions", size_t{0});
    }
    for (const auto& p : c.value("phases", nlohmann::json::array())) {
      ImagePhase phase;
      phase.role = p.value("role", "");
      phase.digest = p.value("digest", "");
      phase.worktree = p.value("worktree", "");
      phase.containers_created = p.value("containers_created", std::vector<std::string>{});
      for (const auto& s : p.value("services", nlohmann::json::array())) {
        phase.services.push_back({s.value("name", ""), s.value("image", ""), s.value("container", "")});
      }
      r.phases.push_back(std::move(phase));
    }
    for (const auto& t : c.value("tests", nlohmann::json::array())) {
      TestCase test;
      test.name = t.value("name", "");
      test.classname = t.value("classname", "");
      std::string ts = t.value("status", "passed");
      for (auto s : {TestStatus::passed, TestStatus::failed, TestStatus::error, TestStatus::skipped}) {
        if (test_status_name(s) == ts) test.status = s;
      }
      test.seconds = t.value("seconds", 0.0);
      test.message = t.value("message", "");
      test.outcome = t.value("outcome", "");
      test.blocks = t.value("blocks", false);
      test.attempts = t.value("attempts", 1);
      test.timed_out = test.outcome == "timed-out";
      test.known_before = t.value("known_before", false);
      if (t.contains("confirm")) {
        test.confirm_runs = t["confirm"].value("runs", 0);
        test.confirm_failures = t["confirm"].value("failures", 0);
      }
      if (t.contains("baseline")) {
        test.baseline_runs = t["baseline"].value("runs", 0);
        test.baseline_failures = t["baseline"].value("failures", 0);
      }
      r.tests.push_back(std::move(test));
    }
    v.consumers.push_back(std::move(r));
  }
  return v;
}

// Per consumer: what the failures were compared with, which image each
// phase's services ran from, and what baseline classification excused.
static std::string baseline_markdown(const Verdict& v) {
  std::string out;
  for (const auto& c : v.consumers) {
    if (c.baseline.status == "off" || c.baseline.status == "not-needed") continue;
    if (out.empty()) out += "### Baseline\n\n| consumer | baseline | status | phases | pre-existing (new / seen before) |\n|---|---|---|---|---|\n";
    std::string phases;
    for (const auto& p : c.phases) {
      std::string services;
      for (const auto& s : p.services) {
        auto at = s.image.find('@');
        std::string from = at == std::string::npos ? s.image : s.image.substr(at + 1, 19);
        services += fmt::format("{}{} from {}", services.empty() ? "" : ", ", s.name, from);
      }
      phases += fmt::format("{}{} `{}`{}", phases.empty() ? "" : "; ", p.role, p.digest.substr(0, 19),
                            services.empty() ? "" : " (" + services + ")");
    }
    size_t fresh = 0, known = 0;
    for (const auto& t : c.tests) {
      if (t.outcome == "pre-existing") (t.known_before ? known : fresh)++;
    }
    out += fmt::format("| {} | `{}` | {}{} | {} | {} / {} |\n", md_cell(c.name), c.baseline.digest.substr(0, 19),
                       c.baseline.status, c.baseline.reason.empty() ? "" : ": " + md_cell(c.baseline.reason),
                       md_cell(phases), fresh, known);
  }
  return out.empty() ? out : out + "\n";
}

std::string render_summary_markdown(const Verdict& v) {
  std::string out;
  std::string banner = v.skipped                          ? "SKIPPED (no relevant change)"
                       : v.exit_code == ExitCode::passed ? (v.dry_run ? "PASSED (dry run, nothing published)" : "PASSED")
                                                         : fmt::format("{}", exit_code_name(v.exit_code));
  for (auto& c : banner) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out += fmt::format("## gate: {}\n\n", banner);
  if (!v.candidate.repository.empty()) {
    out += fmt::format("Candidate `{}{}`", v.candidate.repository, v.candidate.tag.empty() ? "" : ":" + v.candidate.tag);
    if (!v.candidate.digest.empty()) out += fmt::format(" at `{}`", v.candidate.digest);
    out += "\n\n";
  }
  for (const auto& r : v.reasons) out += fmt::format("- {}\n", core::markdown_code(r, 400));
  if (!v.reasons.empty()) out += "\n";
  if (!v.consumers.empty()) {
    out += "| consumer | commit | result | tests | failed | time |\n|---|---|---|---|---|---|\n";
    for (const auto& c : v.consumers) {
      size_t failed = 0;
      for (const auto& t : c.tests) failed += (t.status == TestStatus::failed || t.status == TestStatus::error);
      out += fmt::format("| {} | `{}` | {} | {} | {} | {:.1f}s |\n", md_cell(c.name), c.commit.substr(0, 12),
                         consumer_status_name(c.status), c.tests.size(), failed, c.seconds);
    }
    out += "\n";
  }
  out += baseline_markdown(v);
  bool any_failed_test = false;
  for (const auto& c : v.consumers) {
    for (const auto& t : c.tests) {
      bool failing = t.outcome.empty() ? (t.status == TestStatus::failed || t.status == TestStatus::error) : t.blocks;
      if (!failing) continue;
      if (!any_failed_test) out += "### Failed tests\n\n| consumer | test | outcome | message |\n|---|---|---|---|\n";
      any_failed_test = true;
      out += fmt::format("| {} | {} | {} | {} |\n", md_cell(c.name), md_cell(t.id()),
                         t.outcome.empty() ? std::string(test_status_name(t.status)) : t.outcome, md_cell(t.message));
    }
  }
  if (any_failed_test) out += "\n";
  bool any_warning = false;
  for (const auto& c : v.consumers) {
    for (const auto& t : c.tests) {
      if (t.blocks || t.outcome.empty() || t.outcome == "passed" || t.outcome == "skipped") continue;
      if (!any_warning) out += "### Warnings (do not block)\n\n| consumer | test | outcome |\n|---|---|---|\n";
      any_warning = true;
      out += fmt::format("| {} | {} | {} |\n", md_cell(c.name), md_cell(t.id()), t.outcome);
    }
  }
  if (any_warning) out += "\n";
  if (!v.published.empty()) {
    out += "### Published\n\n| tag | previous digest | new digest |\n|---|---|---|\n";
    for (const auto& p : v.published) {
      out += fmt::format("| `{}` | `{}` | `{}` |\n", p.tag, p.previous_digest.empty() ? "(new)" : p.previous_digest, p.digest);
    }
    out += "\n";
  }
  // The ten slowest, without a string per test: a consumer may have millions.
  std::vector<std::pair<const TestCase*, const ConsumerResult*>> slowest;
  for (const auto& c : v.consumers) {
    for (const auto& t : c.tests) slowest.emplace_back(&t, &c);
  }
  const size_t shown = std::min<size_t>(10, slowest.size());
  std::partial_sort(slowest.begin(), slowest.begin() + static_cast<std::ptrdiff_t>(shown), slowest.end(),
                    [](const auto& a, const auto& b) { return a.first->seconds > b.first->seconds; });
  if (shown > 0) {
    out += "<details><summary>Slowest tests</summary>\n\n| seconds | consumer | test |\n|---|---|---|\n";
    for (size_t i = 0; i < shown; ++i) {
      out += fmt::format("| {:.2f} | {} | {} |\n", slowest[i].first->seconds, md_cell(slowest[i].second->name),
                         md_cell(slowest[i].first->id()));
    }
    out += "\n</details>\n\n";
  }
  bool any_shards = false;
  for (const auto& c : v.consumers) {
    if (!c.profile.contains("shards")) continue;
    if (!any_shards) out += "<details><summary>Shards, slowest first</summary>\n\n| consumer | shard | seconds |\n|---|---|---|\n";
    any_shards = true;
    std::vector<std::pair<double, std::string>> shards;
    for (const auto& [shard, seconds] : c.profile["shards"].items()) shards.emplace_back(seconds.get<double>(), shard);
    std::sort(shards.begin(), shards.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [seconds, shard] : shards) out += fmt::format("| {} | {} | {:.2f} |\n", md_cell(c.name), shard, seconds);
  }
  if (any_shards) out += "\n</details>\n\n";
  if (!v.coverage.is_null()) out += coverage_line(v.coverage) + "\n\n";
  if (v.containers.contains("created") && v.containers["created"].get<size_t>() > 0) {
    out += fmt::format("Containers of the candidate: {} created, peak {} running at once, {} left behind.\n\n",
                       v.containers["created"].get<size_t>(), v.containers["peak_running"].get<size_t>(),
                       v.containers["left_behind"].size());
  }
  if (!v.stages.empty()) {
    out += "<details><summary>Stage timings</summary>\n\n| stage | start | duration |\n|---|---|---|\n";
    for (const auto& s : v.stages) out += fmt::format("| {} | {:.2f}s | {:.2f}s |\n", s.name, s.start_seconds, s.seconds);
    out += "\n</details>\n";
  }
  return out;
}

void write_reports(const Verdict& verdict, const std::filesystem::path& dir) {
  try {
    std::filesystem::create_directories(dir);
    // Invalid UTF-8 from a consumer's report is replaced, not a reason to write no verdict.
    write_file(dir / "verdict.json",
               to_json(verdict).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    write_lines(dir / "junit.xml", [&](const Line& line) { write_junit(verdict, line); });
    std::string summary = render_summary_markdown(verdict);
    write_file(dir / "summary.md", summary);
    if (events::enabled()) events::write(dir / "events.jsonl");
    write_file(dir / "report.html", render_html(verdict, events::snapshot()));
    if (const char* step_summary = std::getenv("GITHUB_STEP_SUMMARY"); step_summary && *step_summary) {
      std::ofstream out(step_summary, std::ios::app);
      out << log::redact(summary) << "\n";
    }
    if (const char* actions = std::getenv("GITHUB_ACTIONS"); actions && std::string(actions) == "true") {
      github_annotations(verdict);
      github_outputs(verdict);
    }
  } catch (const std::exception& e) {
    log::warn(fmt::format("could not write reports to {}: {}", dir.string(), e.what()));
  }
}

}  // namespace gate::report

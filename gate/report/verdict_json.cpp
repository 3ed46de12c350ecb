// verdict.json: the results model as JSON, and back for the fan-in.
#include "report/verdict_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace gate::report {
namespace {

nlohmann::json phases_json(const std::vector<ImagePhase>& phases) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : phases) {
    nlohmann::json services = nlohmann::json::array();
    for (const auto& s : p.services)
      services.push_back({{"name", s.name}, {"image", s.image}, {"container", s.container}});
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

}  // namespace

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

nlohmann::json test_json(const TestCase& t) {
  nlohmann::json test = {{"id", t.id()},
                         {"classname", t.classname},
                         {"name", t.name},
                         {"status", test_status_name(t.status)},
                         {"seconds", t.seconds}};
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
  return test;
}

TestCase test_from_json(const nlohmann::json& t) {
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
  return test;
}

// Long by design: verdict.json field by field, in the order the file lists
// them; split up, the schema would be scattered over several functions.
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
      tests.push_back(test_json(t));
    }
    size_t failed = 0, passed = c.tests_omitted, skipped = 0;
    for (const auto& t : c.tests) {
      if (t.status == TestStatus::passed)
        ++passed;
      else if (t.status == TestStatus::skipped)
        ++skipped;
      else
        ++failed;
    }
    std::map<std::string, size_t> outcomes;
    for (const auto& t : c.tests) {
      if (!t.outcome.empty()) outcomes[t.outcome]++;
    }
    consumers.push_back(
        {{"name", c.name},
         {"repo", c.repo},
         {"ref", c.ref},
         {"commit", c.commit},
         {"submodules", c.submodules},
         {"status", consumer_status_name(c.status)},
         {"process_status", c.process_status},
         {"exit_status", c.exit_code},
         {"seconds", c.seconds},
         {"counts",
          {{"tests", c.tests.size() + c.tests_omitted}, {"passed", passed}, {"failed", failed}, {"skipped", skipped}}},
         {"outcomes", outcomes},
         {"tests", std::move(tests)},
         {"tests_omitted", omitted},
         {"reasons", c.reasons},
         {"log", c.log_file},
         {"containers_removed", c.containers_removed},
         {"shard", c.shard},
         {"timings", c.timings},
         {"split", c.split},
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
  for (const auto& s : v.stages)
    stages.push_back({{"name", s.name}, {"start_seconds", s.start_seconds}, {"seconds", s.seconds}});
  json out = {
      {"schema", "gate.verdict/v1"},
      {"gate_version", v.gate_version},
      {"command", v.command},
      {"config", v.config_file},
      {"dry_run", v.dry_run},
      {"started_at", v.started_at},
      {"seconds", v.seconds},
      {"candidate", {{"repository", v.candidate.repository}, {"tag", v.candidate.tag}, {"digest", v.candidate.digest}}},
      {"consumers", std::move(consumers)},
      {"consumer_versions", v.versions},
      {"decision",
       {{"verdict", exit_code_name(v.exit_code)},
        {"exit_code", static_cast<int>(v.exit_code)},
        {"reasons", v.reasons}}},
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
    out["changes"] = {{"base", v.changes->base},        {"merge_base", v.changes->merge_base},
                      {"head", v.changes->head},        {"files_changed", v.changes->files_changed},
                      {"paths", v.changes->paths},      {"matched", v.changes->matched},
                      {"relevant", v.changes->relevant}};
  }
  return out;
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
    for (const auto& [tag, digest] : j["publish_tags_seen"].items())
      v.tags_seen[tag] = digest.is_string() ? digest.get<std::string>() : "";
  }
  if (j.contains("consumer_versions")) {
    for (const auto& [name, refs] : j["consumer_versions"].items())
      v.versions[name] = refs.get<std::vector<std::string>>();
  }
  for (const auto& c : j.at("consumers")) {
    ConsumerResult r;
    r.name = c.at("name").get<std::string>();
    r.repo = c.value("repo", "");
    r.ref = c.value("ref", "");
    r.commit = c.value("commit", "");
    std::string status = c.value("status", "");
    for (auto s : {ConsumerStatus::passed, ConsumerStatus::failed, ConsumerStatus::timed_out,
                   ConsumerStatus::setup_failed, ConsumerStatus::not_run, ConsumerStatus::error}) {
      if (consumer_status_name(s) == status) r.status = s;
    }
    r.process_status = c.value("process_status", "");
    r.exit_code = c.value("exit_status", -1);
    r.seconds = c.value("seconds", 0.0);
    r.reasons = c.value("reasons", std::vector<std::string>{});
    r.log_file = c.value("log", "");
    r.shard = c.value("shard", "");
    r.timings = c.value("timings", "");
    r.split = c.value("split", "");
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
    for (const auto& t : c.value("tests", nlohmann::json::array())) r.tests.push_back(test_from_json(t));
    v.consumers.push_back(std::move(r));
  }
  return v;
}

// Per consumer: what the failures were compared with, which image each
// phase's services ran from, and what baseline classification excused.
bool has_omitted_tests(const Verdict& verdict) {
  return std::any_of(verdict.consumers.begin(), verdict.consumers.end(),
                     [](const auto& c) { return c.tests.size() > kListedTests; });
}

namespace {

// A JSON string: plain printable ASCII as it is, anything else through the
// JSON library (most names are plain: a million lines are written fast).
void append_json_string(std::string& out, std::string_view text) {
  const bool plain =
      std::all_of(text.begin(), text.end(), [](char ch) { return ch >= 0x20 && ch < 0x7F && ch != '"' && ch != '\\'; });
  if (plain) {
    out += '"';
    out += text;
    out += '"';
  } else {
    out += nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace

void write_omitted_tests(const Verdict& verdict, const Line& line) {
  std::string text;
  for (const auto& c : verdict.consumers) {
    if (c.tests.size() <= kListedTests) continue;
    const std::vector<bool> keep = listed_tests(c.tests);
    for (size_t i = 0; i < c.tests.size(); ++i) {
      if (keep[i]) continue;
      const TestCase& t = c.tests[i];
      if (!plain_pass(t)) {
        nlohmann::json entry = test_json(t);
        entry.erase("id");  // classname and name say it
        entry["consumer"] = c.name;
        line(entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        continue;
      }
      // A plain pass: what test_from_json needs of it, nothing more.
      text = "{\"consumer\":";
      append_json_string(text, c.name);
      text += ",\"classname\":";
      append_json_string(text, t.classname);
      text += ",\"name\":";
      append_json_string(text, t.name);
      text += fmt::format(",\"seconds\":{},\"outcome\":\"passed\"}}", t.seconds);
      line(text);
    }
  }
}

void restore_omitted_tests(Verdict& verdict, const std::filesystem::path& dir) {
  size_t omitted = 0;
  for (const auto& c : verdict.consumers) omitted += c.tests_omitted;
  if (omitted == 0) return;
  const auto file = dir / kOmittedTestsFile;
  std::ifstream in(file);
  if (!in) {
    throw InfraError(
        fmt::format("{}: missing; its verdict counts {} test(s) it does not name, and the whole consumer "
                    "cannot be judged without them (hand `gate merge` each shard's whole report "
                    "directory, not verdict.json alone)",
                    file.string(), omitted));
  }
  std::map<std::string, ConsumerResult*> by_name;
  for (auto& c : verdict.consumers) by_name[c.name] = &c;
  std::map<std::string, size_t> restored;
  std::string text;
  for (size_t line = 1; std::getline(in, text); ++line) {
    if (text.empty()) continue;
    nlohmann::json entry = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    const bool named = entry.is_object() && entry.contains("consumer") && entry["consumer"].is_string();
    auto consumer = named ? by_name.find(entry["consumer"].get<std::string>()) : by_name.end();
    if (consumer == by_name.end()) {
      throw InfraError(fmt::format("{}:{}: not a test of a consumer in the verdict", file.string(), line));
    }
    try {
      consumer->second->tests.push_back(test_from_json(entry));
    } catch (const nlohmann::json::exception& e) {
      throw InfraError(fmt::format("{}:{}: not a test as gate writes it: {}", file.string(), line, e.what()));
    }
    ++restored[consumer->first];
  }
  for (auto& c : verdict.consumers) {
    if (restored[c.name] != c.tests_omitted) {
      throw InfraError(fmt::format("{}: names {} test(s) of consumer '{}', its verdict counts {}", file.string(),
                                   restored[c.name], c.name, c.tests_omitted));
    }
    c.tests_omitted = 0;
  }
}

}  // namespace gate::report

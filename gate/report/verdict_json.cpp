// verdict.json: the results model as JSON, and back for the fan-in.
#include "report/verdict_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/escape.h"
#include "report/json_fields.h"

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
    if (t.outcome == Outcome::pre_existing) (t.known_before ? pre_known : pre_new).push_back(t.id());
  }
  return {{"status", b.status},
          {"digest", b.digest},
          {"reason", b.reason},
          {"tests_rerun", b.tests_rerun},
          {"extra_executions", b.executions},
          {"pre_existing_new", std::move(pre_new)},
          {"pre_existing_known", std::move(pre_known)}};
}

// A word of a closed vocabulary (a status, an outcome), or MalformedJson.
template <typename Enum, typename Values, typename NameOf>
Enum word_of(const Fields& f, const char* key, const std::string& word, const Values& values, NameOf name_of,
             const char* what) {
  for (Enum value : values) {
    if (name_of(value) == word) return value;
  }
  f.fail(fmt::format("'{}' is '{}', not {}", f.name_of(key), word, what));
}

ExitCode exit_code_of(const Fields& f, const char* key) {
  const long long code = f.integer(key);
  for (ExitCode known :
       {ExitCode::passed, ExitCode::blocked, ExitCode::usage, ExitCode::infrastructure, ExitCode::interrupted}) {
    if (code == static_cast<long long>(known)) return known;
  }
  f.fail(fmt::format("'{}' is {}, not one of gate's exit codes (0, 1, 2, 3, 130)", f.name_of(key), code));
}

size_t count_of(const Fields& f, const char* key) {
  const long long count = f.integer_or(key, 0);
  if (count < 0) f.fail(fmt::format("'{}' is {}, expected a count", f.name_of(key), count));
  return static_cast<size_t>(count);
}

TestCase test_from_fields(const Fields& t) {
  TestCase test;
  test.name = t.string("name");
  test.classname = t.string_or("classname");
  test.status =
      word_of<TestStatus>(t, "status", t.string_or("status", "passed"),
                          std::array{TestStatus::passed, TestStatus::failed, TestStatus::error, TestStatus::skipped},
                          test_status_name, "a test status");
  test.seconds = t.number_or("seconds", 0);
  test.message = t.string_or("message");
  const std::string outcome = t.string_or("outcome");
  if (!outcome.empty())
    test.outcome = word_of<Outcome>(t, "outcome", outcome, all_outcomes(), outcome_name, "an outcome");
  test.blocks = t.boolean_or("blocks", false);
  test.attempts = static_cast<int>(t.integer_or("attempts", 1));
  test.timed_out = test.outcome == Outcome::timed_out;
  test.known_before = t.boolean_or("known_before", false);
  if (auto confirm = t.object_if("confirm")) {
    test.confirm_runs = static_cast<int>(confirm->integer_or("runs", 0));
    test.confirm_failures = static_cast<int>(confirm->integer_or("failures", 0));
  }
  if (auto baseline = t.object_if("baseline")) {
    test.baseline_runs = static_cast<int>(baseline->integer_or("runs", 0));
    test.baseline_failures = static_cast<int>(baseline->integer_or("failures", 0));
  }
  return test;
}

ImagePhase phase_from_fields(const Fields& p) {
  ImagePhase phase;
  phase.role = p.string_or("role");
  phase.digest = p.string_or("digest");
  phase.worktree = p.string_or("worktree");
  phase.containers_created = p.strings_or_empty("containers_created");
  const nlohmann::json& services = p.array_or_empty("services");
  for (size_t i = 0; i < services.size(); ++i) {
    const Fields s = p.element(services, "services", i);
    phase.services.push_back({s.string_or("name"), s.string_or("image"), s.string_or("container")});
  }
  return phase;
}

ConsumerResult consumer_from_fields(const Fields& c) {
  ConsumerResult r;
  r.name = c.string("name");
  r.status =
      word_of<ConsumerStatus>(c, "status", c.string("status"),
                              std::array{ConsumerStatus::passed, ConsumerStatus::failed, ConsumerStatus::timed_out,
                                         ConsumerStatus::setup_failed, ConsumerStatus::not_run, ConsumerStatus::error},
                              consumer_status_name, "a consumer status");
  r.repo = c.string_or("repo");
  r.ref = c.string_or("ref");
  r.commit = c.string_or("commit");
  r.process_status = c.string_or("process_status");
  r.exit_code = static_cast<int>(c.integer_or("exit_status", -1));
  r.seconds = c.number_or("seconds", 0);
  r.reasons = c.strings_or_empty("reasons");
  r.log_file = c.string_or("log");
  r.shard = c.string_or("shard");
  r.timings = c.string_or("timings");
  r.split = c.string_or("split");
  r.tests_planned = count_of(c, "tests_planned");
  r.tests_omitted = count_of(c, "tests_omitted");
  r.setup_cache = c.string_or("setup_cache");
  if (c.has("profile")) r.profile = c.raw()["profile"];
  r.submodules = c.strings_or_empty("submodules");
  r.missing = c.strings_or_empty("missing");
  if (auto b = c.object_if("baseline")) {
    r.baseline.status = b->string_or("status", "off");
    r.baseline.digest = b->string_or("digest");
    r.baseline.reason = b->string_or("reason");
    r.baseline.tests_rerun = count_of(*b, "tests_rerun");
    r.baseline.executions = count_of(*b, "extra_executions");
  }
  const nlohmann::json& phases = c.array_or_empty("phases");
  for (size_t i = 0; i < phases.size(); ++i) r.phases.push_back(phase_from_fields(c.element(phases, "phases", i)));
  const nlohmann::json& tests = c.array_or_empty("tests");
  r.tests.reserve(tests.size());
  for (size_t i = 0; i < tests.size(); ++i) r.tests.push_back(test_from_fields(c.element(tests, "tests", i)));
  return r;
}

bool plain_pass(const TestCase& t) {
  return t.status == TestStatus::passed && (t.outcome == Outcome::unclassified || t.outcome == Outcome::passed);
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
  if (t.outcome != Outcome::unclassified) {
    test["outcome"] = outcome_name(t.outcome);
    test["blocks"] = t.blocks;
    test["attempts"] = t.attempts;
  }
  // The evidence, where there was any beyond the first run.
  if (t.confirm_runs > 0) test["confirm"] = {{"runs", t.confirm_runs}, {"failures", t.confirm_failures}};
  if (t.baseline_runs > 0) test["baseline"] = {{"runs", t.baseline_runs}, {"failures", t.baseline_failures}};
  if (excused(t.outcome)) test["known_before"] = t.known_before;
  return test;
}

TestCase test_from_json(const nlohmann::json& json) { return test_from_fields(Fields(json, "")); }

nlohmann::json to_json(const Verdict& v) {
  return to_json(v, [](const ConsumerResult& c, const std::vector<bool>& keep) {
    nlohmann::json tests = nlohmann::json::array();
    for (size_t i = 0; i < c.tests.size(); ++i)
      if (keep[i]) tests.push_back(test_json(c.tests[i]));
    return tests;
  });
}

// Long by design: verdict.json field by field, in the order the file lists
// them; split up, the schema would be scattered over several functions.
nlohmann::json to_json(const Verdict& v, const ListedTestsJson& listed) {
  using nlohmann::json;
  json consumers = json::array();
  for (const auto& c : v.consumers) {
    const std::vector<bool> keep = listed_tests(c.tests);
    const size_t omitted = c.tests_omitted + static_cast<size_t>(std::count(keep.begin(), keep.end(), false));
    json tests = listed(c, keep);
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
      if (t.outcome != Outcome::unclassified) outcomes[std::string(outcome_name(t.outcome))]++;
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
      {"cpu_seconds", v.cpu_seconds},
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

Verdict verdict_from_json(const nlohmann::json& json) {
  const Fields j(json, "");
  if (j.string_or("schema") != "gate.verdict/v1")
    j.fail("no \"schema\": \"gate.verdict/v1\" (is it gate's verdict.json?)");
  Verdict v;
  v.exit_code = exit_code_of(j, "exit_code");
  // The decision repeats the exit code; a verdict where the two disagree was
  // edited, and the one that did not pass counts.
  const ExitCode decided = exit_code_of(j.object("decision"), "exit_code");
  if (v.exit_code == ExitCode::passed) v.exit_code = decided;
  v.reasons = j.object("decision").strings_or_empty("reasons");
  v.gate_version = j.string_or("gate_version");
  v.command = j.string("command");
  v.config_file = j.string_or("config");
  v.dry_run = j.boolean("dry_run");
  v.started_at = j.string_or("started_at");
  v.seconds = j.number_or("seconds", 0);
  const Fields candidate = j.object("candidate");
  v.candidate.repository = candidate.string("repository");
  v.candidate.tag = candidate.string_or("tag");
  v.candidate.digest = candidate.string("digest");
  v.publish_repository = j.string_or("publish_repository");
  v.skipped = j.boolean_or("skipped", false);
  if (j.has("coverage")) v.coverage = j.raw()["coverage"];
  if (auto seen = j.object_if("publish_tags_seen")) {
    for (const auto& [tag, digest] : seen->raw().items()) {
      if (!digest.is_string() && !digest.is_null())
        j.fail(fmt::format("'publish_tags_seen.{}' is {}, expected a digest or null", tag, digest.type_name()));
      v.tags_seen[tag] = digest.is_string() ? digest.get<std::string>() : "";
    }
  }
  if (auto versions = j.object_if("consumer_versions")) {
    for (const auto& [name, refs] : versions->raw().items()) {
      if (!refs.is_array()) j.fail(fmt::format("'consumer_versions.{}' is not a list", name));
      v.versions[name] = versions->strings_or_empty(name.c_str());
    }
  }
  const nlohmann::json& consumers = j.array("consumers");
  for (size_t i = 0; i < consumers.size(); ++i)
    v.consumers.push_back(consumer_from_fields(j.element(consumers, "consumers", i)));
  return v;
}

// Per consumer: what the failures were compared with, which image each
// phase's services ran from, and what baseline classification excused.
bool has_omitted_tests(const Verdict& verdict) {
  return std::any_of(verdict.consumers.begin(), verdict.consumers.end(),
                     [](const auto& c) { return c.tests.size() > kListedTests; });
}

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
      core::append_json_string(text, c.name);
      text += ",\"classname\":";
      core::append_json_string(text, t.classname);
      text += ",\"name\":";
      core::append_json_string(text, t.name);
      text += fmt::format(",\"seconds\":{},\"outcome\":\"passed\"}}", t.seconds);
      line(text);
    }
  }
}

Verdict read_verdict_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw MalformedJson(fmt::format("cannot read it: {}", std::strerror(errno)));
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw MalformedJson(fmt::format("is not JSON: {}", e.what()));
  }
  return verdict_from_json(json);
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
    } catch (const MalformedJson& e) {
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

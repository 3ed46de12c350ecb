// verdict.json's text, a test at a time (verdict_json_text in verdict_json.h).
// The file is to_json's tree dumped with an indent of 2, except that each
// consumer's "tests" is a marker in the tree, replaced in the text by the
// tests rendered one by one at the indent the tree would have given them:
// the same bytes, without a tree of every test (each a map of its fields)
// alive at once.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/escape.h"
#include "core/outcome.h"
#include "report/verdict_json.h"

namespace gate::report {
namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

// One test as test_json(t).dump(2) would write it, each of its line breaks
// followed by `inner` instead of nothing: the fields in the map's (sorted)
// order, as many as test_json sets. (A unit test compares the two.)
void append_test(std::string& out, const TestCase& t, const std::string& inner) {
  bool first = true;
  auto key = [&](std::string_view name) {
    out += first ? "{" : ",";
    first = false;
    out += inner;
    out += "  \"";
    out += name;
    out += "\": ";
  };
  auto evidence = [&](std::string_view name, int runs, int failures) {
    key(name);
    fmt::format_to(std::back_inserter(out), "{{{0}    \"failures\": {1},{0}    \"runs\": {2}{0}  }}", inner, failures,
                   runs);
  };
  const bool classified = t.outcome != Outcome::unclassified;
  if (classified) {
    key("attempts");
    fmt::format_to(std::back_inserter(out), "{}", t.attempts);
  }
  if (t.baseline_runs > 0) evidence("baseline", t.baseline_runs, t.baseline_failures);
  if (classified) {
    key("blocks");
    out += t.blocks ? "true" : "false";
  }
  key("classname");
  core::append_json_string(out, t.classname);
  if (t.confirm_runs > 0) evidence("confirm", t.confirm_runs, t.confirm_failures);
  key("id");
  core::append_json_string(out, t.id());
  if (excused(t.outcome)) {
    key("known_before");
    out += t.known_before ? "true" : "false";
  }
  if (!t.message.empty()) {
    key("message");
    core::append_json_string(out, t.message);
  }
  key("name");
  core::append_json_string(out, t.name);
  if (classified) {
    key("outcome");
    core::append_json_string(out, outcome_name(t.outcome));
  }
  key("seconds");
  out += nlohmann::json(t.seconds).dump();
  key("status");
  core::append_json_string(out, test_status_name(t.status));
  out += inner;
  out += "}";
}

// The listed tests of a consumer as the tree's dump would write them, the
// array's "[" on the line of its key (at `indent` spaces) and its "]" alone.
std::string tests_text(const ConsumerResult& c, const std::vector<bool>& keep, size_t indent) {
  const std::string inner = "\n" + std::string(indent + 2, ' ');
  std::string text;
  for (size_t i = 0; i < c.tests.size(); ++i) {
    if (!keep[i]) continue;
    text += text.empty() ? "[" : ",";
    text += inner;
    append_test(text, c.tests[i], inner);
  }
  if (text.empty()) return "[]";
  text += "\n" + std::string(indent, ' ') + "]";
  return text;
}

}  // namespace

std::string verdict_json_text(const Verdict& verdict) {
  // A marker no consumer's text can hold: a control character (dumped as
  // \u0001, never as itself) and a number drawn for this call.
  const std::string nonce = fmt::format("{:016x}", std::random_device{}() * 0x100000000ULL ^ std::random_device{}());
  std::vector<std::pair<std::string, std::string>> markers;  // its dumped form, the tests' text
  // "tests" is a key of a consumer object, in the "consumers" array of the
  // root: the tree's dump writes it at 6 spaces.
  constexpr size_t kTestsIndent = 6;
  const nlohmann::json tree = to_json(verdict, [&](const ConsumerResult& c, const std::vector<bool>& keep) {
    const nlohmann::json marker = fmt::format("\x01gate-tests-{}-{}\x01", nonce, markers.size());
    markers.emplace_back(marker.dump(), tests_text(c, keep, kTestsIndent));
    return marker;
  });
  const std::string text = tree.dump(2, ' ', false, kReplace);
  // One pass: the markers come in the consumers' order.
  std::string out;
  out.reserve(text.size() + [&] {
    size_t n = 0;
    for (const auto& m : markers) n += m.second.size();
    return n;
  }());
  size_t from = 0;
  for (const auto& [marker, tests] : markers) {
    const size_t at = text.find(marker, from);
    if (at == std::string::npos) continue;
    out.append(text, from, at - from);
    out += tests;
    from = at + marker.size();
  }
  out.append(text, from, std::string::npos);
  return out;
}

}  // namespace gate::report

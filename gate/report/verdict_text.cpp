// verdict.json's text, a test at a time (verdict_json_text in verdict_json.h).
// The file is to_json's tree dumped with an indent of 2, except that each
// consumer's "tests" is a marker in the tree, replaced in the text by the
// tests rendered one by one at the indent the tree would have given them:
// the same bytes, without a tree of every test (each a map of its fields)
// alive at once.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "report/verdict_json.h"

namespace gate::report {
namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

// The listed tests of a consumer as the tree's dump would write them, the
// array's "[" on the line of its key (at `indent` spaces) and its "]" alone.
std::string tests_text(const ConsumerResult& c, const std::vector<bool>& keep, size_t indent) {
  const std::string inner = "\n" + std::string(indent + 2, ' ');
  std::string text;
  for (size_t i = 0; i < c.tests.size(); ++i) {
    if (!keep[i]) continue;
    text += text.empty() ? "[" : ",";
    text += inner;
    const std::string one = test_json(c.tests[i]).dump(2, ' ', false, kReplace);
    for (char ch : one) {
      if (ch == '\n') {
        text += inner;
      } else {
        text += ch;
      }
    }
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

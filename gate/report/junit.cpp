#include "report/junit.h"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/escape.h"
#include "registry/digest.h"

namespace gate::report {
namespace {

// Bounds on what a consumer's report can make gate hold: the reports keep
// the start of each text with a marker (the consumer's log has it whole).
constexpr size_t kMaxDetails = 8 * 1024;
constexpr size_t kMaxMessage = 2 * 1024;
constexpr size_t kMaxName = 1024;
constexpr size_t kMaxDepth = 64;  // real reports nest 1 to 5 suites
constexpr size_t kMaxTests = 5'000'000;
constexpr uintmax_t kMaxFileBytes = uintmax_t{1} << 30;

std::string bounded(std::string text) {
  if (text.size() > kMaxDetails) text = text.substr(0, kMaxDetails) + "\n[... truncated by gate]";
  return text;
}

std::string trimmed(std::string_view text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(start, end - start + 1));
}

std::string first_line(std::string_view text) {
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (std::string t = trimmed(line); !t.empty()) return t;
  }
  return "";
}

std::string last_line(std::string_view text) {
  std::string last;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (std::string t = trimmed(line); !t.empty()) last = t;
  }
  return last;
}

// A message that says nothing more than the element it is on.
bool is_generic(const std::string& message) {
  std::string m = trimmed(message);
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return m.empty() || m == "failed" || m == "failure" || m == "error" || m == "fail";
}

// A name longer than this keeps its start and, for identity across runs,
// a digest of the whole.
std::string bounded_name(const char* raw) {
  std::string_view text(raw);
  if (text.size() <= kMaxName) return std::string(text);
  return fmt::format("{}...[gate: {} bytes, {}]", text.substr(0, kMaxName - 64), text.size(),
                     registry::sha256_digest(text).substr(0, 23));
}

std::string bounded_message(std::string text) {
  if (text.size() > kMaxMessage) text = text.substr(0, kMaxMessage) + "[... truncated by gate]";
  return text;
}

// An error outranks a failure, which outranks a pass, which outranks a skip.
int severity(TestStatus s) {
  return s == TestStatus::error ? 3 : s == TestStatus::failed ? 2 : s == TestStatus::passed ? 1 : 0;
}

TestCase read_case(const pugi::xml_node& node, const std::string& suite_name) {
  TestCase test;
  test.suite = suite_name;
  test.classname = bounded_name(node.attribute("classname").as_string());
  test.name = bounded_name(node.attribute("name").as_string());
  test.seconds = node.attribute("time").as_double(0.0);
  test.status = TestStatus::passed;
  // Inside one case: an error outranks a failure, which outranks a skip.
  auto rank = [](TestStatus s) {
    return s == TestStatus::error ? 3 : s == TestStatus::failed ? 2 : s == TestStatus::skipped ? 1 : 0;
  };
  for (pugi::xml_node result : node.children()) {
    std::string_view kind = result.name();
    TestStatus status;
    if (kind == "failure") status = TestStatus::failed;
    else if (kind == "error") status = TestStatus::error;
    else if (kind == "skipped") status = TestStatus::skipped;
    else continue;
    if (rank(status) <= rank(test.status)) continue;
    test.status = status;
    test.message = bounded_message(result.attribute("message").as_string());
    test.details = bounded(result.child_value());
    // Reporters differ: mocha's xunit writes the message as the
    // element's text, go-junit-report a bare "Failed" attribute.
    if (is_generic(test.message)) {
      std::string line = first_line(test.details);
      if (!line.empty()) test.message = bounded_message(line);
    }
  }
  if ((test.status == TestStatus::failed || test.status == TestStatus::error) && is_generic(test.message)) {
    for (const char* stream : {"system-err", "system-out"}) {
      std::string line = last_line(node.child_value(stream));
      if (!line.empty()) {
        test.message = bounded_message(line);
        break;
      }
    }
  }
  return test;
}

// Walks the suites without recursion (a hostile report nests thousands
// deep), in document order: a stack of the suites open, each at its next child.
void collect(const pugi::xml_node& root_suite, const std::string& source, std::vector<TestCase>& out) {
  struct Open {
    pugi::xml_node next;
    std::string name;
  };
  std::vector<Open> open{{root_suite.first_child(), bounded_name(root_suite.attribute("name").as_string())}};
  while (!open.empty()) {
    pugi::xml_node child = open.back().next;
    if (!child) {
      open.pop_back();
      continue;
    }
    open.back().next = child.next_sibling();
    std::string_view tag = child.name();
    if (tag == "testsuite") {
      if (open.size() >= kMaxDepth) {
        throw InfraError(fmt::format("{}: <testsuite> elements nested more than {} deep; refused", source, kMaxDepth));
      }
      open.push_back({child.first_child(), bounded_name(child.attribute("name").as_string())});
    } else if (tag == "testcase") {
      if (out.size() >= kMaxTests) throw InfraError(fmt::format("{}: more than {} test cases; refused", source, kMaxTests));
      out.push_back(read_case(child, open.back().name));
    }
  }
}

std::vector<TestCase> parse_document(const pugi::xml_document& doc, const std::string& source) {
  std::vector<TestCase> out;
  pugi::xml_node root = doc.document_element();
  std::string_view name = root.name();
  if (name == "testsuites") {
    for (pugi::xml_node suite : root.children("testsuite")) collect(suite, source, out);
  } else {
    collect(root, source, out);
  }
  return out;
}

void check_root(const pugi::xml_document& doc, const std::string& source) {
  std::string_view name = doc.document_element().name();
  if (name != "testsuites" && name != "testsuite") {
    throw InfraError(fmt::format("{}: not a JUnit report (root element <{}>, expected <testsuites> or <testsuite>)",
                                 source, name));
  }
}

std::string seconds_text(double seconds) { return fmt::format("{:.3f}", seconds < 0 ? 0.0 : seconds); }

}  // namespace

std::vector<TestCase> parse_junit_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (auto size = std::filesystem::file_size(file, ec); !ec && size > kMaxFileBytes) {
    throw InfraError(fmt::format("{}: {} MiB, more than the {} MiB gate reads of a JUnit report; refused", file.string(),
                                 size >> 20, kMaxFileBytes >> 20));
  }
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_file(file.c_str());
  if (!parsed) {
    throw InfraError(fmt::format("{}: not valid XML at offset {}: {}", file.string(), parsed.offset,
                                 parsed.description()));
  }
  check_root(doc, file.string());
  return parse_document(doc, file.string());
}

std::vector<TestCase> parse_junit_text(const std::string& text, const std::string& source_name) {
  if (text.size() > kMaxFileBytes) {
    throw InfraError(fmt::format("{}: more than the {} MiB gate reads of a JUnit report; refused", source_name,
                                 kMaxFileBytes >> 20));
  }
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(text.data(), text.size());
  if (!parsed) {
    throw InfraError(fmt::format("{}: not valid XML at offset {}: {}", source_name, parsed.offset,
                                 parsed.description()));
  }
  check_root(doc, source_name);
  return parse_document(doc, source_name);
}

void merge_repeated_tests(std::vector<TestCase>& tests) {
  // Keyed by a hash of the id, not the id: a report may name a million tests.
  std::unordered_multimap<size_t, size_t> seen;  // hash of id -> index in kept
  seen.reserve(tests.size());
  size_t kept = 0;
  for (size_t i = 0; i < tests.size(); ++i) {
    const std::string id = tests[i].id();
    const size_t hash = std::hash<std::string>{}(id);
    size_t* same = nullptr;
    auto [first, last] = seen.equal_range(hash);
    for (auto it = first; it != last; ++it) {
      if (tests[it->second].has_id(id)) {
        same = &it->second;
        break;
      }
    }
    if (!same) {
      if (kept != i) tests[kept] = std::move(tests[i]);
      seen.emplace(hash, kept++);
      continue;
    }
    TestCase& earlier = tests[*same];
    const double seconds = earlier.seconds + tests[i].seconds;  // both ran
    if (severity(tests[i].status) > severity(earlier.status)) earlier = std::move(tests[i]);
    earlier.seconds = seconds;
  }
  tests.resize(kept);
}

std::string render_junit(const Verdict& verdict) {
  // Every text from outside goes through the XML 1.0 character rule (and a
  // NUL inside it, marked, no longer cuts it short).
  auto xml = [](const std::string& text) { return core::xml_chars(text); };
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  pugi::xml_node suites = doc.append_child("testsuites");
  suites.append_attribute("name") = xml(fmt::format("gate {}", verdict.candidate.ref())).c_str();
  size_t total = 0, failures = 0, errors = 0;
  double total_seconds = 0;
  for (const auto& consumer : verdict.consumers) {
    pugi::xml_node suite = suites.append_child("testsuite");
    size_t tests = 0, suite_failures = 0, suite_errors = 0, skipped = 0;
    suite.append_attribute("name") = xml(consumer.name).c_str();
    pugi::xml_node properties = suite.append_child("properties");
    auto property = [&](const char* name, const std::string& value) {
      pugi::xml_node p = properties.append_child("property");
      p.append_attribute("name") = name;
      p.append_attribute("value") = xml(value).c_str();
    };
    property("repo", consumer.repo);
    property("ref", consumer.ref);
    property("commit", consumer.commit);
    property("candidate", verdict.candidate.ref());
    auto add_case = [&](const std::string& classname, const std::string& name, double seconds) {
      pugi::xml_node tc = suite.append_child("testcase");
      tc.append_attribute("name") = xml(name).c_str();
      tc.append_attribute("classname") = xml(classname).c_str();
      tc.append_attribute("time") = seconds_text(seconds).c_str();
      ++tests;
      return tc;
    };
    for (const auto& test : consumer.tests) {
      pugi::xml_node tc = add_case(test.classname.empty() ? consumer.name : test.classname, test.name, test.seconds);
      bool failing = test.outcome.empty() ? (test.status == TestStatus::failed || test.status == TestStatus::error)
                                          : test.blocks;
      if (failing) {
        pugi::xml_node f = tc.append_child(test.status == TestStatus::failed ? "failure" : "error");
        f.append_attribute("message") = xml(test.message).c_str();
        f.text().set(xml(test.details).c_str());
        (test.status == TestStatus::failed ? suite_failures : suite_errors)++;
      } else if (test.outcome == "flaky" || test.outcome == "pre-existing") {
        tc.append_child("system-out").text().set(
            fmt::format("gate: {} ({}), not blocking by policy", test.outcome,
                        test.outcome == "flaky" ? "passed on a retry" : "fails on the published image too")
                .c_str());
      } else if (test.status == TestStatus::skipped) {
        pugi::xml_node s = tc.append_child("skipped");
        s.append_attribute("message") = xml(test.message).c_str();
        ++skipped;
      }
    }
    // A consumer that failed without a failing test case (no JUnit, timeout,
    // setup failure, wrong exit code) still shows up as one failed case.
    bool failing_case = suite_failures + suite_errors > 0;
    if (!consumer.passed() && !failing_case) {
      pugi::xml_node tc = add_case(consumer.name, std::string("gate: ") + std::string(consumer_status_name(consumer.status)),
                                   consumer.seconds);
      pugi::xml_node f = tc.append_child("failure");
      std::string reasons;
      for (const auto& r : consumer.reasons) reasons += (reasons.empty() ? "" : "; ") + r;
      f.append_attribute("message") = xml(reasons).c_str();
      f.text().set(xml(consumer.output_tail).c_str());
      ++suite_failures;
    } else if (consumer.tests.empty() && consumer.passed()) {
      add_case(consumer.name, "gate: run", consumer.seconds);
    }
    suite.append_attribute("tests") = std::to_string(tests).c_str();
    suite.append_attribute("failures") = std::to_string(suite_failures).c_str();
    suite.append_attribute("errors") = std::to_string(suite_errors).c_str();
    suite.append_attribute("skipped") = std::to_string(skipped).c_str();
    suite.append_attribute("time") = seconds_text(consumer.seconds).c_str();
    total += tests;
    failures += suite_failures;
    errors += suite_errors;
    total_seconds += consumer.seconds;
  }
  suites.append_attribute("tests") = std::to_string(total).c_str();
  suites.append_attribute("failures") = std::to_string(failures).c_str();
  suites.append_attribute("errors") = std::to_string(errors).c_str();
  suites.append_attribute("time") = seconds_text(total_seconds).c_str();
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default, pugi::encoding_utf8);
  return out.str();
}

}  // namespace gate::report

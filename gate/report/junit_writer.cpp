// junit.xml, written as a stream of lines: a consumer with a million tests
// costs its lines, never a document tree of them. The escaping is one rule
// (below) over text that already went through core::xml_chars, so the file
// holds XML 1.0 characters only.
#include <fmt/format.h>

#include <sstream>

#include "core/escape.h"
#include "report/junit.h"

namespace gate::report {
namespace {

std::string escaped(const std::string& raw, bool attribute) {
  return core::markup_escape(core::xml_chars(raw), attribute);
}

std::string attr(const char* name, const std::string& value) {
  return fmt::format(" {}=\"{}\"", name, escaped(value, true));
}

std::string seconds_text(double seconds) { return fmt::format("{:.3f}", seconds < 0 ? 0.0 : seconds); }

// What a consumer's <testsuite> counts, known before it is written.
struct Counts {
  size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  bool gate_case = false;  // a case of gate's own: the consumer failed without a failing test, or ran none
};

Counts count(const ConsumerResult& consumer) {
  Counts c;
  for (const auto& test : consumer.tests) {
    ++c.tests;
    if (test.blocking())
      (test.status == TestStatus::failed ? c.failures : c.errors)++;
    else if (!excused(test.outcome) && test.status == TestStatus::skipped)
      ++c.skipped;
  }
  if (!consumer.passed() && c.failures + c.errors == 0) {
    c.gate_case = true;
    ++c.tests;
    ++c.failures;
  } else if (consumer.tests.empty() && consumer.passed()) {
    c.gate_case = true;
    ++c.tests;
  }
  return c;
}

void write_case(const TestCase& test, const std::string& consumer_name, const Line& line) {
  std::string open = "    <testcase" + attr("name", test.name) +
                     attr("classname", test.classname.empty() ? consumer_name : test.classname) +
                     attr("time", seconds_text(test.seconds));
  if (test.blocking()) {
    const char* kind = test.status == TestStatus::failed ? "failure" : "error";
    line(open + ">");
    line(fmt::format("      <{}{}>{}</{}>", kind, attr("message", test.message), escaped(test.details, false), kind));
    line("    </testcase>");
  } else if (excused(test.outcome)) {
    line(open + ">");
    line(fmt::format("      <system-out>gate: {} ({}), not blocking by policy</system-out>", outcome_name(test.outcome),
                     test.outcome == Outcome::flaky ? "passed on a retry" : "fails on the published image too"));
    line("    </testcase>");
  } else if (test.status == TestStatus::skipped) {
    line(open + ">");
    line("      <skipped" + attr("message", test.message) + " />");
    line("    </testcase>");
  } else {
    line(open + " />");
  }
}

// A consumer that failed without a failing test case (no JUnit, timeout,
// setup failure, wrong exit code) still shows up as one failed case.
void write_gate_case(const ConsumerResult& consumer, const Line& line) {
  std::string open =
      "    <testcase" +
      attr("name", consumer.passed() ? "gate: run" : "gate: " + std::string(consumer_status_name(consumer.status))) +
      attr("classname", consumer.name) + attr("time", seconds_text(consumer.seconds));
  if (consumer.passed()) {
    line(open + " />");
    return;
  }
  std::string reasons;
  for (const auto& r : consumer.reasons) reasons += (reasons.empty() ? "" : "; ") + r;
  line(open + ">");
  line(fmt::format("      <failure{}>{}</failure>", attr("message", reasons), escaped(consumer.output_tail, false)));
  line("    </testcase>");
}

}  // namespace

void write_junit(const Verdict& verdict, const Line& line) {
  size_t tests = 0, failures = 0, errors = 0;
  double seconds = 0;
  std::vector<Counts> counts;
  for (const auto& consumer : verdict.consumers) {
    counts.push_back(count(consumer));
    tests += counts.back().tests;
    failures += counts.back().failures;
    errors += counts.back().errors;
    seconds += consumer.seconds;
  }
  line("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
  line("<testsuites" + attr("name", fmt::format("gate {}", verdict.candidate.ref())) +
       attr("tests", std::to_string(tests)) + attr("failures", std::to_string(failures)) +
       attr("errors", std::to_string(errors)) + attr("time", seconds_text(seconds)) + ">");
  for (size_t i = 0; i < verdict.consumers.size(); ++i) {
    const auto& consumer = verdict.consumers[i];
    const Counts& c = counts[i];
    line("  <testsuite" + attr("name", consumer.name) + attr("tests", std::to_string(c.tests)) +
         attr("failures", std::to_string(c.failures)) + attr("errors", std::to_string(c.errors)) +
         attr("skipped", std::to_string(c.skipped)) + attr("time", seconds_text(consumer.seconds)) + ">");
    line("    <properties>");
    for (const auto& [name, value] : {std::pair<const char*, std::string>{"repo", consumer.repo},
                                      {"ref", consumer.ref},
                                      {"commit", consumer.commit},
                                      {"candidate", verdict.candidate.ref()}}) {
      line("      <property" + attr("name", name) + attr("value", value) + " />");
    }
    line("    </properties>");
    for (const auto& test : consumer.tests) write_case(test, consumer.name, line);
    if (c.gate_case) write_gate_case(consumer, line);
    line("  </testsuite>");
  }
  line("</testsuites>");
}

std::string render_junit(const Verdict& verdict) {
  std::string out;
  write_junit(verdict, [&](std::string_view text) {
    out += text;
    out += '\n';
  });
  return out;
}

}  // namespace gate::report

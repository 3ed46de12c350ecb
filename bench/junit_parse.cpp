// junit_parse [TESTCASES]: time gate's JUnit parser on a generated report of
// TESTCASES (default 10,000) test cases (a tenth failing, with messages and
// traces), best of 10 runs, and the process's peak memory.
#include <sys/resource.h>

#include <chrono>
#include <iostream>
#include <sstream>

#include "report/junit.h"

int main(int argc, char** argv) {
  size_t count = argc > 1 ? std::stoul(argv[1]) : 10000;
  std::ostringstream xml;
  xml << "<?xml version=\"1.0\"?>\n<testsuites><testsuite name=\"pytest\" tests=\"" << count << "\">\n";
  for (size_t i = 0; i < count; ++i) {
    xml << "<testcase classname=\"tests.integration.test_module_" << i / 100 << "\" name=\"test_case_" << i << "[param-"
        << i % 7 << "]\" time=\"0." << i % 1000 << "\">";
    if (i % 10 == 0) {
      xml << "<failure message=\"AssertionError: expected 201, got 200\">Traceback (most recent call last):\n"
          << "  File \"tests/integration/test_module.py\", line 42, in test_case\n    assert status == 201\n"
          << "AssertionError</failure>";
    }
    xml << "</testcase>\n";
  }
  xml << "</testsuite></testsuites>\n";
  const std::string text = xml.str();
  double best = 1e9;
  size_t parsed = 0;
  for (int round = 0; round < 10; ++round) {
    auto start = std::chrono::steady_clock::now();
    auto tests = gate::report::parse_junit_text(text, "bench.xml");
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::min(best, seconds);
    parsed = tests.size();
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::cout << "parsed " << parsed << " test cases (" << text.size() / 1024 << " KB) in " << best * 1000
            << " ms (best of 10); peak RSS " << usage.ru_maxrss / 1024 << " MB\n";
  return parsed == count ? 0 : 1;
}

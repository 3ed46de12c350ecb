#pragma once
// JUnit XML in and out (pugixml).
#include <filesystem>
#include <string>
#include <vector>

#include "report/model.h"

namespace gate::report {

// Test cases of a JUnit file (root <testsuites> or <testsuite>, nested
// suites too). Throws InfraError naming the file when it is not JUnit XML.
std::vector<TestCase> parse_junit_file(const std::filesystem::path& file);
std::vector<TestCase> parse_junit_text(const std::string& text, const std::string& source_name);

// All consumers as one <testsuites> document, one <testsuite> per consumer.
// Valid against the Jenkins xUnit junit-10.xsd.
std::string render_junit(const Verdict& verdict);

}  // namespace gate::report

#pragma once
// JUnit XML in (junit.cpp) and out (junit_writer.cpp).
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "report/model.h"

namespace gate::report {

// Test cases of a JUnit file (root <testsuites> or <testsuite>, nested
// suites too). Throws InfraError naming the file when it is not JUnit XML.
std::vector<TestCase> parse_junit_file(const std::filesystem::path& file);
// `piece_bytes`: how much is handed to the parser at once (files: 16 MiB;
// tests make it small to cut a report everywhere).
std::vector<TestCase> parse_junit_text(const std::string& text, const std::string& source_name,
                                       size_t piece_bytes = size_t{16} << 20);

// A report may name one test more than once (two files, two suites, a
// reporter that repeats reruns): one test per id is kept, its worst result
// (an error, then a failure, then a pass, then a skip), so that a pass can
// never hide a failure of the same name. Order of first appearance kept.
void merge_repeated_tests(std::vector<TestCase>& tests);

// All consumers as one <testsuites> document, one <testsuite> per consumer,
// valid against the Jenkins xUnit junit-10.xsd: handed out line by line
// (each without its newline), or as one text.
using Line = std::function<void(std::string_view)>;
void write_junit(const Verdict& verdict, const Line& line);
std::string render_junit(const Verdict& verdict);

}  // namespace gate::report

#pragma once
// verdict.json: the results model as JSON (what workflows, `gate publish
// --verdict` and `gate merge` read), and back.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "report/junit.h"
#include "report/model.h"

namespace gate::report {

// verdict.json lists at most this many tests per consumer (all failures and
// other non-passes first); the others are counted as tests_omitted, and
// written whole, one JSON object per line, to kOmittedTestsFile beside it.
inline constexpr size_t kListedTests = 10000;
inline constexpr const char* kOmittedTestsFile = "omitted-tests.jsonl";

nlohmann::json to_json(const Verdict& verdict);
// The inverse, for the fan-in: reads what to_json wrote. Throws
// nlohmann::json::exception on a document of another shape.
Verdict verdict_from_json(const nlohmann::json& json);
// One test as verdict.json writes it, and back.
nlohmann::json test_json(const TestCase& test);
TestCase test_from_json(const nlohmann::json& json);
// Puts the tests a verdict read from `dir` counted but did not name back
// into it, from its kOmittedTestsFile. Throws InfraError when the file is
// missing or does not hold exactly the tests the verdict counted.
void restore_omitted_tests(Verdict& verdict, const std::filesystem::path& dir);

// Which of a consumer's tests verdict.json (and report.html) name: all, up
// to kListedTests; beyond, every test that is not a plain pass first.
std::vector<bool> listed_tests(const std::vector<TestCase>& tests);

// Whether a verdict leaves tests out of verdict.json, and those tests, one
// line each, for kOmittedTestsFile.
bool has_omitted_tests(const Verdict& verdict);
void write_omitted_tests(const Verdict& verdict, const Line& line);

}  // namespace gate::report

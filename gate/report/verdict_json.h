#pragma once
// verdict.json: the results model as JSON (what workflows, `gate publish
// --verdict` and `gate merge` read), and back.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "report/json_fields.h"
#include "report/junit.h"
#include "report/model.h"

namespace gate::report {

// verdict.json lists at most this many tests per consumer (all failures and
// other non-passes first); the others are counted as tests_omitted, and
// written whole, one JSON object per line, to kOmittedTestsFile beside it.
inline constexpr size_t kListedTests = 10000;
inline constexpr const char* kOmittedTestsFile = "omitted-tests.jsonl";

nlohmann::json to_json(const Verdict& verdict);
// The same, each consumer's "tests" made by `listed` from the consumer and
// which of its tests are listed (listed_tests).
using ListedTestsJson = std::function<nlohmann::json(const ConsumerResult&, const std::vector<bool>& keep)>;
nlohmann::json to_json(const Verdict& verdict, const ListedTestsJson& listed);
// verdict.json's text: exactly to_json(verdict).dump(2) with invalid UTF-8
// replaced, but made a test at a time (verdict_text.cpp), never one JSON
// tree of every test: at 5,000 tests that tree was most of a run's last
// 100 ms, the heap growing for it most of that.
std::string verdict_json_text(const Verdict& verdict);
// The inverse, and gate's one reader of verdict.json (publish --verdict,
// merge, bisect): strict, every field it reads of the type it must have and
// the required ones present (schema, exit_code, decision.exit_code, command,
// dry_run, candidate.repository and .digest, consumers[].name and .status).
// Throws MalformedJson naming the field.
Verdict verdict_from_json(const nlohmann::json& json);
// A verdict.json file, read as above; MalformedJson also when the file
// cannot be read or is not JSON. The caller says which file, and what that
// means to it.
Verdict read_verdict_file(const std::filesystem::path& file);
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

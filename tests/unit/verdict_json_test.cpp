#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "core/error.h"
#include "report/html.h"
#include "report/renderers.h"
#include "report/verdict_json.h"

using namespace gate::report;

namespace {

Verdict verdict_with(size_t passing, std::vector<size_t> failing_at) {
  Verdict v;
  v.candidate = {"127.0.0.1:5000/acme/emu", "", "sha256:abc"};
  v.exit_code = gate::ExitCode::blocked;
  ConsumerResult c;
  c.name = "big";
  c.status = ConsumerStatus::failed;
  for (size_t i = 0; i < passing + failing_at.size(); ++i) {
    TestCase t;
    t.classname = "tests.m";
    t.name = "test_" + std::to_string(i);
    t.seconds = 0.001;
    bool fails = std::find(failing_at.begin(), failing_at.end(), i) != failing_at.end();
    t.status = fails ? TestStatus::failed : TestStatus::passed;
    t.outcome = fails ? gate::Outcome::regression : gate::Outcome::passed;
    t.blocks = fails;
    c.tests.push_back(t);
  }
  v.consumers.push_back(c);
  return v;
}

}  // namespace

TEST(VerdictJson, ListsEveryTestUpToTheBound) {
  auto json = to_json(verdict_with(100, {7}));
  EXPECT_EQ(json["consumers"][0]["tests"].size(), 101u);
  EXPECT_EQ(json["consumers"][0]["tests_omitted"], 0);
}

TEST(VerdictJson, BeyondTheBoundFailuresAreListedAndPassesCounted) {
  const size_t total = kListedTests + 15000;
  auto json = to_json(verdict_with(total - 3, {5, kListedTests + 100, total - 1}));
  const auto& c = json["consumers"][0];
  ASSERT_EQ(c["tests"].size(), kListedTests);
  EXPECT_EQ(c["tests_omitted"], total - kListedTests);
  EXPECT_EQ(c["counts"]["tests"], total);
  EXPECT_EQ(c["counts"]["failed"], 3);
  size_t listed_failures = 0;
  for (const auto& t : c["tests"]) listed_failures += t["status"] == "failed";
  EXPECT_EQ(listed_failures, 3u) << "a failure beyond the bound must still be listed";
  // Read back (the fan-in) and written again: the counts survive.
  Verdict again = verdict_from_json(json);
  EXPECT_EQ(again.consumers[0].tests_omitted, total - kListedTests);
  auto json2 = to_json(again);
  EXPECT_EQ(json2["consumers"][0]["counts"]["tests"], total);
  EXPECT_EQ(json2["consumers"][0]["tests_omitted"], total - kListedTests);
}

namespace {

// Writes the omitted tests the way write_reports does, into a directory of its own.
std::filesystem::path write_omitted(const Verdict& v, const std::string& dir_name) {
  auto dir = std::filesystem::temp_directory_path() / dir_name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / kOmittedTestsFile);
  write_omitted_tests(v, [&](std::string_view line) { out << line << '\n'; });
  return dir;
}

}  // namespace

TEST(VerdictJson, TheOmittedTestsComeBackWhole) {
  Verdict v = verdict_with(kListedTests + 50, {3, kListedTests + 20});
  v.consumers[0].tests[kListedTests + 40].seconds = 2.5;
  ASSERT_TRUE(has_omitted_tests(v));
  auto dir = write_omitted(v, "gate-omitted-whole");
  Verdict back = verdict_from_json(to_json(v));
  EXPECT_EQ(back.consumers[0].tests_omitted, 52u);  // 10,052 tests, 10,000 named
  restore_omitted_tests(back, dir);
  EXPECT_EQ(back.consumers[0].tests_omitted, 0u);
  ASSERT_EQ(back.consumers[0].tests.size(), v.consumers[0].tests.size());
  std::map<std::string, double> seconds;
  for (const auto& t : back.consumers[0].tests) seconds[t.id()] = t.seconds;
  EXPECT_EQ(seconds.size(), v.consumers[0].tests.size()) << "a test came back twice, or one did not";
  EXPECT_EQ(seconds["tests.m::test_" + std::to_string(kListedTests + 40)], 2.5);
  std::filesystem::remove_all(dir);
}

TEST(VerdictJson, AShardWithoutItsOmittedTestsIsRefused) {
  Verdict v = verdict_with(kListedTests + 5, {});
  Verdict back = verdict_from_json(to_json(v));
  auto dir = std::filesystem::temp_directory_path() / "gate-omitted-none";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  EXPECT_THROW(restore_omitted_tests(back, dir), gate::InfraError);
  // One line short: refused as well.
  Verdict fewer = v;
  fewer.consumers[0].tests.pop_back();
  auto short_dir = write_omitted(fewer, "gate-omitted-short");
  Verdict again = verdict_from_json(to_json(v));
  EXPECT_THROW(restore_omitted_tests(again, short_dir), gate::InfraError);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(short_dir);
}

TEST(ReportBounds, SummaryListsAHundredFailuresAndCountsTheRest) {
  std::vector<size_t> failing;
  for (size_t i = 0; i < 150; ++i) failing.push_back(i);
  Verdict v = verdict_with(10, failing);
  for (const auto& t : v.consumers[0].tests) {
    if (t.blocks) v.reasons.push_back("big: test " + t.id() + " regression");
  }
  const std::string summary = render_summary_markdown(v);
  size_t rows = 0;
  for (size_t at = summary.find("| regression |"); at != std::string::npos; at = summary.find("| regression |", at + 1))
    ++rows;
  EXPECT_EQ(rows, 100u);
  EXPECT_NE(summary.find("... and 50 more failed test(s)"), std::string::npos);
  EXPECT_NE(summary.find("... and 50 more reason(s)"), std::string::npos);
}

TEST(ReportBounds, HtmlListsWhatVerdictJsonLists) {
  Verdict v = verdict_with(kListedTests + 5, {2});  // 10,006 tests, 10,000 listed
  const std::string html = render_html(v, nlohmann::json::array());
  EXPECT_NE(html.find("6 more passing test(s) not listed here"), std::string::npos);
  EXPECT_NE(html.find("tests.m::test_2<"), std::string::npos) << "the failure is listed";
}

// The one reader of verdict.json is strict: a field of the wrong type, a
// word outside its vocabulary or a required field missing is an error that
// names the field, never a default that slipped in.
namespace {

std::string malformed_reason(const std::function<void(nlohmann::json&)>& edit) {
  Verdict v = verdict_with(5, {2});
  v.command = "run";
  nlohmann::json json = to_json(v);
  edit(json);
  try {
    verdict_from_json(json);
  } catch (const MalformedJson& e) {
    return e.what();
  }
  return "(read without complaint)";
}

}  // namespace

TEST(VerdictReader, NamesTheFieldThatIsWrong) {
  EXPECT_EQ(malformed_reason([](auto& j) { j["consumers"][0]["tests"][3]["seconds"] = "fast"; }),
            "'consumers[0].tests[3].seconds' is string, expected a number");
  EXPECT_EQ(malformed_reason([](auto& j) { j["consumers"][0]["tests"][1]["outcome"] = "fine"; }),
            "'consumers[0].tests[1].outcome' is 'fine', not an outcome");
  EXPECT_EQ(malformed_reason([](auto& j) { j["consumers"][0]["status"] = "green"; }),
            "'consumers[0].status' is 'green', not a consumer status");
  EXPECT_EQ(malformed_reason([](auto& j) { j["consumers"][0].erase("status"); }), "has no 'consumers[0].status'");
  EXPECT_EQ(malformed_reason([](auto& j) { j.erase("decision"); }), "has no 'decision'");
  EXPECT_EQ(malformed_reason([](auto& j) { j["exit_code"] = 7; }),
            "'exit_code' is 7, not one of gate's exit codes (0, 1, 2, 3, 130)");
  EXPECT_EQ(malformed_reason([](auto& j) { j["candidate"]["digest"] = nullptr; }),
            "'candidate.digest' is null, expected a string");
  EXPECT_EQ(malformed_reason([](auto& j) { j["consumers"][0]["tests_omitted"] = -1; }),
            "'consumers[0].tests_omitted' is -1, expected a count");
  EXPECT_EQ(malformed_reason([](auto& j) { j["schema"] = "gate.verdict/v0"; }),
            "no \"schema\": \"gate.verdict/v1\" (is it gate's verdict.json?)");
  EXPECT_EQ(malformed_reason([](auto&) {}), "(read without complaint)");
}

TEST(VerdictReader, ADecisionThatDisagreesWithTheExitCodeDoesNotPass) {
  Verdict v = verdict_with(3, {});
  v.exit_code = gate::ExitCode::passed;
  nlohmann::json json = to_json(v);
  json["decision"]["exit_code"] = 1;
  EXPECT_EQ(verdict_from_json(json).exit_code, gate::ExitCode::blocked);
  json["decision"]["exit_code"] = 0;
  EXPECT_EQ(verdict_from_json(json).exit_code, gate::ExitCode::passed);
}

TEST(VerdictReader, OutcomesAndStatusesComeBackAsWritten) {
  Verdict v = verdict_with(2, {1});
  v.consumers[0].tests[0].outcome = gate::Outcome::newly_flaky;
  v.consumers[0].tests[2].outcome = gate::Outcome::unclassified;
  v.consumers[0].status = ConsumerStatus::setup_failed;
  Verdict back = verdict_from_json(to_json(v));
  ASSERT_EQ(back.consumers[0].tests.size(), 3u);
  EXPECT_EQ(back.consumers[0].tests[0].outcome, gate::Outcome::newly_flaky);
  EXPECT_EQ(back.consumers[0].tests[1].outcome, gate::Outcome::regression);
  EXPECT_EQ(back.consumers[0].tests[2].outcome, gate::Outcome::unclassified);
  EXPECT_EQ(back.consumers[0].status, ConsumerStatus::setup_failed);
}

TEST(VerdictReader, AFileThatIsNotJsonIsSaidSo) {
  auto file = std::filesystem::temp_directory_path() / "gate-verdict-not-json.json";
  std::ofstream(file) << "{\"schema\": ";
  try {
    read_verdict_file(file);
    ADD_FAILURE() << "read";
  } catch (const MalformedJson& e) {
    EXPECT_NE(std::string(e.what()).find("is not JSON"), std::string::npos) << e.what();
  }
  std::filesystem::remove(file);
  EXPECT_THROW(read_verdict_file(file), MalformedJson) << "a missing file";
}

// verdict.json's text, made a test at a time, is byte for byte the tree's
// dump: several consumers (one without tests, one past the listing bound),
// every optional field of a test, text that needs escaping, and invalid
// UTF-8 (replaced in both), a consumer's text that looks like the marker.
TEST(VerdictJson, TheTextIsTheTreesDumpByteForByte) {
  Verdict v = verdict_with(3, {1});
  v.reasons = {"gate-tests-0", std::string("\x01gate-tests-") + "0\x01"};
  TestCase& odd = v.consumers[0].tests[0];
  odd.message = "quote \" backslash \\ newline \n tab \t bell \x07 snowman \xe2\x98\x83 broken \xff\xfe";
  odd.outcome = gate::Outcome::pre_existing;
  odd.confirm_runs = 2;
  odd.confirm_failures = 1;
  odd.baseline_runs = 3;
  odd.baseline_failures = 3;
  odd.known_before = true;
  odd.seconds = 1e-7;
  TestCase& named = v.consumers[0].tests[1];  // names that need escaping, a blocking outcome
  named.classname = "tests/t\xc3\xa9st \"q\".py";
  named.name = "test_\\slash[\x7f]";
  named.outcome = gate::Outcome::regression;
  named.blocks = true;
  named.attempts = 3;
  named.seconds = 0.0001;
  v.consumers[0].tests[2].outcome = gate::Outcome::unclassified;  // a JUnit case: no outcome fields
  v.consumers[0].tests[2].name = "test_back\\slash";              // plain but for one character
  v.consumers[0].tests[2].classname = "tests.\"q\"";
  v.consumers[0].tests[3].outcome = gate::Outcome::flaky;  // excused, not known before
  v.consumers[0].tests[3].message = "";
  ConsumerResult empty;
  empty.name = "none";
  empty.status = ConsumerStatus::passed;
  v.consumers.push_back(empty);
  Verdict big = verdict_with(kListedTests + 7, {2, kListedTests + 3});
  v.consumers.push_back(big.consumers[0]);
  v.consumers.back().name = "big";
  v.consumers.back().tests[5].seconds = 12345.678901234;

  const auto replace = nlohmann::json::error_handler_t::replace;
  const std::string tree = to_json(v).dump(2, ' ', false, replace);
  const std::string text = verdict_json_text(v);
  ASSERT_EQ(text.size(), tree.size());
  EXPECT_TRUE(text == tree) << "first difference at byte "
                            << std::mismatch(text.begin(), text.end(), tree.begin()).first - text.begin();
  EXPECT_EQ(nlohmann::json::parse(text)["consumers"][2]["tests"].size(), kListedTests);
  Verdict none;
  none.candidate = {"r", "", "sha256:x"};
  EXPECT_EQ(verdict_json_text(none), to_json(none).dump(2, ' ', false, replace));
}

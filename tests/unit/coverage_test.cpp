#include "suite/coverage.h"

#include <gtest/gtest.h>

#include "config/config.h"
#include "core/error.h"

namespace gate::suite {
namespace {

TEST(GoProfileTotals, CountsStatementsAndCoveredOncePerBlock) {
  // Two blocks covered, one not; the first block listed twice (as after a
  // merge of text profiles) counts once, covered if any listing counted it.
  const std::string profile =
      "mode: set\n"
      "example.com/calc/main.go:12.28,12.44 1 1\n"
      "example.com/calc/main.go:14.26,16.27 2 0\n"
      "example.com/calc/main.go:14.26,16.27 2 1\n"
      "example.com/calc/main.go:24.14,27.16 3 0\n"
      "example.com/calc/dir with space/x.go:1.1,2.2 4 7\n";
  auto totals = go_profile_totals(profile);
  EXPECT_EQ(totals.statements, 1 + 2 + 3 + 4);
  EXPECT_EQ(totals.covered, 1 + 2 + 4);
}

TEST(GoProfileTotals, EmptyOrJunk) {
  EXPECT_EQ(go_profile_totals("").statements, 0);
  auto totals = go_profile_totals("mode: count\nnot a block\n");
  EXPECT_EQ(totals.statements, 0);
  EXPECT_EQ(totals.covered, 0);
}

TEST(CoverageConfig, DefaultsAndErrors) {
  auto config = config::parse_config(
      "version: 1\nimage: {repository: 127.0.0.1:5999/acme/emu}\ncoverage: {kind: go}\n"
      "consumers: [{name: cli, repo: /tmp/x, run: 'true'}]\n",
      "gate.yaml");
  ASSERT_TRUE(config.coverage.has_value());
  EXPECT_EQ(config.coverage->env, "GOCOVERDIR");
  EXPECT_EQ(config.coverage->go, "go");
  try {
    config::parse_config(
        "version: 1\nimage: {repository: 127.0.0.1:5999/acme/emu}\ncoverage: {kind: go, env: 'A B'}\n"
        "consumers: [{name: cli, repo: /tmp/x, run: 'true'}]\n",
        "gate.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gate.yaml:3:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not an environment variable name"), std::string::npos) << e.what();
  }
}

TEST(SummarizeCoverage, NoCountersSaysWhy) {
  config::Coverage coverage;
  auto dir = std::filesystem::temp_directory_path() / "gate-coverage-test-empty";
  std::filesystem::remove_all(dir);
  auto raw = consumer_coverage_dir(dir, "cli");
  auto result = summarize_coverage(coverage, {raw}, dir);
  EXPECT_FALSE(result.contains("percent"));
  EXPECT_NE(result.value("error", "").find("go build -cover"), std::string::npos) << result.dump();
  EXPECT_EQ(result.value("directories", -1), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gate::suite

#include "report/html.h"

#include <gtest/gtest.h>

using namespace gate::report;

TEST(Html, TenThousandTestsStayUnderTwoMegabytes) {
  Verdict v;
  v.exit_code = gate::ExitCode::blocked;
  v.candidate = {"127.0.0.1:5000/acme/emulator", "pr-1", "sha256:" + std::string(64, 'a')};
  ConsumerResult c;
  c.name = "sam-cli";
  c.status = ConsumerStatus::failed;
  for (int i = 0; i < 10000; ++i) {
    TestCase t{"",
               "tests/integration/test_module_" + std::to_string(i / 100) + ".py::test_case_" + std::to_string(i),
               TestStatus::passed,
               0.01 * (i % 300),
               "",
               ""};
    t.outcome = gate::Outcome::passed;
    if (i % 500 == 0) {
      t.status = TestStatus::failed;
      t.outcome = gate::Outcome::regression;
      t.blocks = true;
      t.message = "AssertionError: expected 201, got 200";
      t.details = std::string(3000, 'x');
    }
    c.tests.push_back(t);
  }
  v.consumers.push_back(c);
  v.stages = {{"build", 0, 3}, {"test:sam-cli", 3, 120}};
  std::string html = render_html(v, nlohmann::json::array());
  EXPECT_LT(html.size(), 2u * 1024 * 1024) << html.size();
  EXPECT_NE(html.find("id=\"timeline\""), std::string::npos);
  EXPECT_NE(html.find("test_case_500"), std::string::npos);
  EXPECT_NE(html.find("BLOCKED"), std::string::npos);
}

TEST(Html, EscapesEverythingItShows) {
  Verdict v;
  ConsumerResult c;
  c.name = "<script>alert(1)</script>";
  v.consumers.push_back(c);
  std::string html = render_html(v, nlohmann::json::array());
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
}

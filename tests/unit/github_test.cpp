#include "report/github.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace gate::report;

TEST(GitHub, EscapesDataAndProperties) {
  EXPECT_EQ(github_escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
  EXPECT_EQ(github_escape_property("emucli: tests/x.py::a, b"), "emucli%3A tests/x.py%3A%3Aa%2C b");
}

TEST(GitHub, AnnotatesBlockingTestsWithFileAndLine) {
  Verdict v;
  ConsumerResult c;
  c.name = "cli";
  c.status = ConsumerStatus::failed;
  TestCase bad{"",  "tests/test_items.py::test_create", TestStatus::failed,
               0.1, "AssertionError: expected 201",     "tests/test_items.py:12: in test_create\n..."};
  bad.outcome = gate::Outcome::regression;
  bad.blocks = true;
  TestCase warned = bad;
  warned.name = "tests/test_items.py::test_old";
  warned.outcome = gate::Outcome::pre_existing;
  warned.blocks = false;
  c.tests = {bad, warned};
  v.consumers.push_back(c);
  std::fflush(stdout);
  char path[] = "/tmp/gate-github-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  int saved = dup(1);
  dup2(fd, 1);
  github_annotations(v);
  std::fflush(stdout);
  dup2(saved, 1);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path);
  EXPECT_EQ(text.str(),
            "::error file=tests/test_items.py,line=12,title=cli%3A tests/test_items.py%3A%3Atest_create regression"
            "::AssertionError: expected 201\n");
}

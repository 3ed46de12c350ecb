// The runners' parsers on the tools' own output (lines as pytest 7, ctest
// 3.25 and go 1.19 of Debian 12 print them), and on output that only looks
// like it.
#include "suite/tool_output.h"

#include <gtest/gtest.h>

using gate::report::TestStatus;
using namespace gate::suite;

TEST(PytestOutput, CollectedNodeIds) {
  EXPECT_TRUE(is_pytest_node_line("tests/test_api.py::test_write[utf-8]"));
  EXPECT_TRUE(is_pytest_node_line("tests/test_api.py::TestClass::test_a"));
  EXPECT_FALSE(is_pytest_node_line("3 tests collected in 0.01s"));
  EXPECT_FALSE(is_pytest_node_line("tests/test_api.py: 3"));
}

TEST(PytestOutput, VerboseLinesGiveNodeAndWord) {
  std::string node, word;
  ASSERT_TRUE(
      parse_pytest_verbose_line("tests/x.py::test_a PASSED                                   [ 50%]", &node, &word));
  EXPECT_EQ(node, "tests/x.py::test_a");
  EXPECT_EQ(word, "PASSED");
  ASSERT_TRUE(parse_pytest_verbose_line("tests/x.py::test_b[1-2] FAILED", &node, &word));
  EXPECT_EQ(node, "tests/x.py::test_b[1-2]");
  EXPECT_EQ(word, "FAILED");
  ASSERT_TRUE(parse_pytest_verbose_line("tests/x.py::test_c XFAIL (known)                 [100%]", &node, &word));
  EXPECT_EQ(word, "XFAIL");
}

TEST(PytestOutput, LinesThatOnlyLookLikeResultsAreNot) {
  std::string node, word;
  // A test's own print naming a word, the summary, a word glued to another.
  EXPECT_FALSE(parse_pytest_verbose_line("FAILED tests/x.py::test_b - assert 1 == 2", &node, &word));
  EXPECT_FALSE(parse_pytest_verbose_line("tests/x.py::test_a PASSEDX", &node, &word));
  EXPECT_FALSE(parse_pytest_verbose_line("the run PASSED without a node", &node, &word));
  EXPECT_FALSE(parse_pytest_verbose_line("some text tests/x.py::test_a PASSED", &node, &word));
}

TEST(PytestOutput, StatusOfEachWord) {
  EXPECT_EQ(pytest_status("PASSED"), TestStatus::passed);
  EXPECT_EQ(pytest_status("XPASS"), TestStatus::passed);
  EXPECT_EQ(pytest_status("XFAIL"), TestStatus::passed);
  EXPECT_EQ(pytest_status("SKIPPED"), TestStatus::skipped);
  EXPECT_EQ(pytest_status("ERROR"), TestStatus::error);
  EXPECT_EQ(pytest_status("FAILED"), TestStatus::failed);
  EXPECT_EQ(pytest_status("anything else"), TestStatus::failed);  // never green by accident
}

TEST(CtestOutput, ListingLeavesDisabledTestsOut) {
  std::string name;
  ASSERT_TRUE(parse_ctest_listing("  Test  #3: net_roundtrip", &name));
  EXPECT_EQ(name, "net_roundtrip");
  ASSERT_TRUE(parse_ctest_listing("  Test #12: a.b-c", &name));
  EXPECT_EQ(name, "a.b-c");
  EXPECT_FALSE(parse_ctest_listing("  Test  #4: slow (Disabled)", &name));
  EXPECT_FALSE(parse_ctest_listing("Total Tests: 4", &name));
  EXPECT_FALSE(parse_ctest_listing("Test project /work/build", &name));
  EXPECT_FALSE(parse_ctest_listing("output: Test #3: injected", &name));
}

TEST(CtestOutput, ResultLinesGiveNameAndWord) {
  std::string name, word;
  ASSERT_TRUE(parse_ctest_result("1/3 Test #1: fast .............................   Passed    0.01 sec", &name, &word));
  EXPECT_EQ(name, "fast");
  EXPECT_EQ(word, "Passed");
  ASSERT_TRUE(parse_ctest_result("3/3 Test #3: hang .............................***Timeout   1.00 sec", &name, &word));
  EXPECT_EQ(name, "hang");
  EXPECT_EQ(word, "Timeout");
  ASSERT_TRUE(parse_ctest_result("2/3 Test #2: broken ...........................***Failed    0.02 sec", &name, &word));
  EXPECT_EQ(word, "Failed");
  ASSERT_TRUE(parse_ctest_result("4/4 Test #4: gone .............................***Not Run   0.00 sec", &name, &word));
  EXPECT_EQ(word, "Not");
  EXPECT_FALSE(parse_ctest_result("    Start 1: fast", &name, &word));
  EXPECT_FALSE(parse_ctest_result("100% tests passed, 0 tests failed out of 3", &name, &word));
}

TEST(GoOutput, TestListsArePerPackage) {
  auto tests = parse_go_test_list(
      "TestA\nTestB\nok  \texample.com/app/api\t0.004s\n"
      "ExampleHello\nBenchmarkX\nTestC\nok  \texample.com/app/db\t0.003s\n"
      "?   \texample.com/app/cmd\t[no test files]\n");
  EXPECT_EQ(tests, (std::vector<std::string>{"example.com/app/api::TestA", "example.com/app/api::TestB",
                                             "example.com/app/db::TestC"}));
  // Names with no package line after them (a listing cut short) are not guessed.
  EXPECT_TRUE(parse_go_test_list("TestA\n").empty());
}

TEST(GoOutput, EventsGiveFinishedTopLevelTests) {
  GoEvents events("example.com/app/api");
  std::string echo;
  EXPECT_FALSE(events.read(R"({"Action":"run","Package":"example.com/app/api","Test":"TestW"})", &echo));
  EXPECT_FALSE(events.read(
      R"({"Action":"output","Test":"TestW","Output":"    api_test.go:12: expected 201, got 500\n"})", &echo));
  EXPECT_EQ(echo, "    api_test.go:12: expected 201, got 500");
  EXPECT_FALSE(events.read(R"({"Action":"fail","Test":"TestW/sub","Elapsed":0.1})", &echo));  // a subtest
  auto failed = events.read(R"({"Action":"fail","Test":"TestW","Elapsed":0.25})", &echo);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->name, "example.com/app/api::TestW");
  EXPECT_EQ(failed->status, TestStatus::failed);
  EXPECT_EQ(failed->message, "api_test.go:12: expected 201, got 500");
  EXPECT_DOUBLE_EQ(failed->seconds, 0.25);
  auto passed = events.read(R"({"Action":"pass","Test":"TestR","Elapsed":0})", &echo);
  ASSERT_TRUE(passed);
  EXPECT_EQ(passed->status, TestStatus::passed);
  auto skipped = events.read(R"({"Action":"skip","Test":"TestS"})", &echo);
  ASSERT_TRUE(skipped);
  EXPECT_EQ(skipped->status, TestStatus::skipped);
  EXPECT_FALSE(
      events.read(R"({"Action":"pass","Package":"example.com/app/api","Elapsed":0.3})", &echo));  // the package
}

TEST(GoOutput, AFailureWithoutAFileLineStillSaysFailed) {
  GoEvents events("p");
  std::string echo;
  events.read(R"({"Action":"output","Test":"TestX","Output":"panic: boom\n"})", &echo);
  auto t = events.read(R"({"Action":"fail","Test":"TestX"})", &echo);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->message, "failed");
  EXPECT_NE(t->details.find("panic: boom"), std::string::npos);
}

TEST(GoOutput, LinesThatAreNotEventsAreEchoedNeverFatal) {
  GoEvents events("p");
  std::string echo;
  EXPECT_FALSE(events.read("# example.com/app/api [build failed]", &echo));
  EXPECT_EQ(echo, "# example.com/app/api [build failed]");
  // JSON of another shape (a test printing it), or fields of the wrong type.
  EXPECT_FALSE(events.read("[1,2,3]", &echo));
  EXPECT_EQ(echo, "[1,2,3]");
  EXPECT_FALSE(events.read(R"({"Action":"pass","Test":"TestA","Elapsed":"soon"})", &echo));
  EXPECT_FALSE(events.read(R"({"Action":7,"Test":"TestA"})", &echo));
}

// The runners' parsers on the tools' own output (gate's pytest plugin's events; ctest
// 3.25 and go 1.19 of Debian 12 print them), and on output that only looks
// like it.
#include "suite/tool_output.h"

#include <gtest/gtest.h>

using gate::report::TestStatus;
using namespace gate::suite;

TEST(PytestEvents, FinishGivesStatusSecondsAndReason) {
  auto e =
      parse_pytest_event(R"({"event": "finish", "id": "tests/x.py::test_b[1-2]", "outcome": "failed", "seconds": 0.25,)"
                         R"( "message": "assert 1 == 2", "details": "def test_b():\n>  assert 1 == 2"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, PytestEvent::Kind::finish);
  EXPECT_EQ(e->id, "tests/x.py::test_b[1-2]");
  EXPECT_EQ(e->status, TestStatus::failed);
  EXPECT_DOUBLE_EQ(e->seconds, 0.25);
  EXPECT_EQ(e->message, "assert 1 == 2");
  EXPECT_EQ(e->details, "def test_b():\n>  assert 1 == 2");
  for (auto [word, status] :
       {std::pair{"passed", TestStatus::passed}, {"error", TestStatus::error}, {"skipped", TestStatus::skipped}}) {
    auto f = parse_pytest_event(std::string(R"({"event":"finish","id":"a::b","outcome":")") + word + "\"}");
    ASSERT_TRUE(f) << word;
    EXPECT_EQ(f->status, status) << word;
  }
}

TEST(PytestEvents, CollectionAndSelection) {
  auto c = parse_pytest_event(R"({"event": "collected", "count": 3, "sha256": "ab12"})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, PytestEvent::Kind::collected);
  EXPECT_EQ(c->count, 3u);
  EXPECT_EQ(c->sha256, "ab12");
  auto s = parse_pytest_event(R"({"event": "selected", "count": 1, "missing": ["t.py::gone", 7]})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, PytestEvent::Kind::selected);
  EXPECT_EQ(s->missing, std::vector<std::string>{"t.py::gone"});
  auto err = parse_pytest_event(R"({"event": "collect-error", "id": "tests/t.py", "message": "ImportError: x"})");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->kind, PytestEvent::Kind::collect_error);
  EXPECT_EQ(err->message, "ImportError: x");
}

TEST(PytestEvents, LinesThatAreNotEventsAreNothing) {
  // A test's own print, JSON of another shape, fields of the wrong type, an
  // outcome gate does not know (never green by accident), a cut line.
  for (const char* line : {"tests/x.py::test_a PASSED", "[1, 2]", R"({"event": "finish"})",
                           R"({"event": "finish", "id": "a::b", "outcome": "xpassed"})",
                           R"({"event": "finish", "id": "a::b", "outcome": 1})", R"({"event": "start", "id": 5})",
                           R"({"event": "other", "id": "a::b"})", R"({"event": "finish", "id": "a::b", "outc)", ""}) {
    EXPECT_FALSE(parse_pytest_event(line)) << line;
  }
  auto odd = parse_pytest_event(R"({"event": "finish", "id": "a::b", "outcome": "passed", "seconds": "1"})");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->seconds, 0);
}

TEST(CtestOutput, ListingLeavesDisabledTestsOut) {
  std::string name;
  ASSERT_TRUE(parse_ctest_listing("  Test  #3: net_roundtrip", &name));
  EXPECT_EQ(name, "net_roundtrip");
  int number = 0;
  ASSERT_TRUE(parse_ctest_listing("  Test #12: a.b-c", &name, &number));
  EXPECT_EQ(number, 12);
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
  EXPECT_EQ(word, "Not Run");
  ASSERT_TRUE(parse_ctest_result("3/4 Test #3: off ..........***Not Run (Disabled)   0.00 sec", &name, &word));
  EXPECT_EQ(word, "Disabled");
  ASSERT_TRUE(parse_ctest_result("4/4 Test #4: skipme ...........................***Skipped   0.01 sec", &name, &word));
  EXPECT_EQ(word, "Skipped");
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

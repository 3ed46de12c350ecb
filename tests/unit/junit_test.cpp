#include "report/junit.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "core/error.h"

using namespace gate::report;

TEST(JUnitParse, PytestStyleReport) {
  auto tests = parse_junit_text(R"(<?xml version="1.0"?>
<testsuites><testsuite name="pytest" tests="4">
  <testcase classname="tests.test_a" name="test_ok" time="0.5"/>
  <testcase classname="tests.test_a" name="test_bad" time="0.1"><failure message="expected 201, got 200">trace</failure></testcase>
  <testcase classname="tests.test_a" name="test_boom"><error message="fixture failed"/></testcase>
  <testcase classname="tests.test_a" name="test_skip"><skipped message="later"/></testcase>
</testsuite></testsuites>)",
                                "report.xml");
  ASSERT_EQ(tests.size(), 4u);
  EXPECT_EQ(tests[0].status, TestStatus::passed);
  EXPECT_DOUBLE_EQ(tests[0].seconds, 0.5);
  EXPECT_EQ(tests[1].status, TestStatus::failed);
  EXPECT_EQ(tests[1].message, "expected 201, got 200");
  EXPECT_EQ(tests[1].id(), "tests.test_a::test_bad");
  EXPECT_EQ(tests[2].status, TestStatus::error);
  EXPECT_EQ(tests[3].status, TestStatus::skipped);
}

TEST(JUnitParse, NestedSuitesAndBareTestsuiteRoot) {
  auto tests = parse_junit_text(R"(<testsuite name="outer"><testsuite name="inner">
    <testcase name="a"/></testsuite><testcase name="b"/></testsuite>)",
                                "x.xml");
  ASSERT_EQ(tests.size(), 2u);
  EXPECT_EQ(tests[0].suite, "inner");
}

TEST(JUnitParse, RejectsNonJUnit) {
  EXPECT_THROW(parse_junit_text("<html/>", "page.xml"), gate::InfraError);
  EXPECT_THROW(parse_junit_text("<testsuite", "broken.xml"), gate::InfraError);
}

TEST(JUnitRender, FailedConsumerWithoutTestsStillShowsAFailure) {
  Verdict verdict;
  verdict.candidate = {"127.0.0.1:5000/acme/emu", "pr-1", "sha256:" + std::string(64, 'b')};
  ConsumerResult consumer;
  consumer.name = "cli";
  consumer.status = ConsumerStatus::timed_out;
  consumer.reasons = {"killed at the consumer timeout (3.0s)"};
  verdict.consumers.push_back(consumer);
  ConsumerResult good;
  good.name = "other";
  good.status = ConsumerStatus::passed;
  good.tests = {{"s", "c", "t1", TestStatus::passed, 0.25, "", ""}, {"s", "c", "t2", TestStatus::failed, 1, "nope", "trace"}};
  verdict.consumers.push_back(good);

  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(render_junit(verdict).c_str()));
  auto suites = doc.child("testsuites");
  EXPECT_STREQ(suites.attribute("tests").value(), "3");
  EXPECT_STREQ(suites.attribute("failures").value(), "2");
  auto first = suites.child("testsuite");
  EXPECT_STREQ(first.attribute("name").value(), "cli");
  EXPECT_STREQ(first.child("testcase").child("failure").attribute("message").value(),
               "killed at the consumer timeout (3.0s)");
}

// The JUnit that real reporters write: the message is where each puts it.
TEST(JUnitParse, MessagesWhereEachReporterPutsThem) {
  auto tests = parse_junit_text(R"(<testsuites>
<testsuite name="Mocha Tests"><testcase classname="items" name="creates an item" time="0.010"><failure>expected 500 to equal 201
AssertionError: expected 500 to equal 201
    at Context.&lt;anonymous&gt; (test/items.js:10:12)</failure></testcase></testsuite>
<testsuite name="example.com/pkg"><testcase classname="example.com/pkg" name="TestA" time="0.00"><failure message="Failed" type="">    a_test.go:12: want 201, got 500
</failure></testcase></testsuite>
<testsuite name="jest tests"><testcase classname="items deletes" name="items deletes" time="0.003"><failure><![CDATA[Error: expect(received).toBe(expected) // Object.is equality
    at Object.<anonymous> (items.test.js:5:3)]]></failure></testcase></testsuite>
<testsuite name="com.acme.ItemsTest"><testcase name="creates" classname="com.acme.ItemsTest" time="0.01"><failure message="expected: &lt;201&gt; but was: &lt;500&gt;" type="org.opentest4j.AssertionFailedError">org.opentest4j.AssertionFailedError: expected: &lt;201&gt; but was: &lt;500&gt;</failure></testcase></testsuite>
<testsuite name="ctest"><testcase name="server" classname="server" time="0.2" status="fail"><failure message="Failed"/><system-out>starting
server: write failed with 500
</system-out></testcase></testsuite>
</testsuites>)", "mixed.xml");
  ASSERT_EQ(tests.size(), 5u);
  EXPECT_EQ(tests[0].message, "expected 500 to equal 201");
  EXPECT_NE(tests[0].details.find("test/items.js:10:12"), std::string::npos);
  EXPECT_EQ(tests[1].message, "a_test.go:12: want 201, got 500");
  EXPECT_EQ(tests[2].message, "Error: expect(received).toBe(expected) // Object.is equality");
  EXPECT_EQ(tests[3].message, "expected: <201> but was: <500>");
  EXPECT_EQ(tests[4].message, "server: write failed with 500");
  for (const auto& t : tests) EXPECT_EQ(t.status, TestStatus::failed) << t.name;
}

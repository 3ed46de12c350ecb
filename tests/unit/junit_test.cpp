#include "report/junit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
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
  good.tests = {{"c", "t1", TestStatus::passed, 0.25, "", ""}, {"c", "t2", TestStatus::failed, 1, "nope", "trace"}};
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
</testsuites>)",
                                "mixed.xml");
  ASSERT_EQ(tests.size(), 5u);
  EXPECT_EQ(tests[0].message, "expected 500 to equal 201");
  EXPECT_NE(tests[0].details.find("test/items.js:10:12"), std::string::npos);
  EXPECT_EQ(tests[1].message, "a_test.go:12: want 201, got 500");
  EXPECT_EQ(tests[2].message, "Error: expect(received).toBe(expected) // Object.is equality");
  EXPECT_EQ(tests[3].message, "expected: <201> but was: <500>");
  EXPECT_EQ(tests[4].message, "server: write failed with 500");
  for (const auto& t : tests) EXPECT_EQ(t.status, TestStatus::failed) << t.name;
}

TEST(JUnitParse, DeepNestingIsRefusedWithoutRecursion) {
  std::string deep;
  for (int i = 0; i < 30000; ++i) deep += "<testsuite>";
  deep += "<testcase name=\"x\"/>";
  for (int i = 0; i < 30000; ++i) deep += "</testsuite>";
  try {
    parse_junit_text(deep, "deep.xml");
    FAIL() << "30,000 nested suites were accepted";
  } catch (const gate::InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("deep.xml: <testsuite> elements nested more than 64 deep"), std::string::npos)
        << e.what();
  }
  // Real nesting depths still read, in document order.
  auto tests = parse_junit_text(
      R"(<testsuites><testsuite name="a"><testsuite name="b"><testcase name="1"/></testsuite><testcase name="2"/></testsuite></testsuites>)",
      "ok.xml");
  ASSERT_EQ(tests.size(), 2u);
  EXPECT_EQ(tests[0].name, "1");
}

TEST(JUnitParse, HugeNamesAndMessagesAreBoundedButDistinct) {
  std::string a(20 * 1024 * 1024, 'a'), b = a;
  b.back() = 'b';
  std::string message(1024 * 1024, 'm');
  auto tests = parse_junit_text("<testsuite><testcase name=\"" + a + "\"><failure message=\"" + message +
                                    "\"/></testcase><testcase name=\"" + b + "\"/></testsuite>",
                                "huge.xml");
  ASSERT_EQ(tests.size(), 2u);
  EXPECT_LE(tests[0].name.size(), 1024u);
  EXPECT_NE(tests[0].name.find("[gate: 20971520 bytes, sha256:"), std::string::npos) << tests[0].name.substr(900);
  EXPECT_NE(tests[0].name, tests[1].name) << "two long names that differ at the end must stay two tests";
  EXPECT_LE(tests[0].message.size(), 2100u);
  EXPECT_NE(tests[0].message.find("[... truncated by gate]"), std::string::npos);
}

TEST(JUnitRender, HostileCharactersStayValidXml) {
  Verdict verdict;
  verdict.candidate = {"127.0.0.1:5000/acme/emu", "", "sha256:abc"};
  ConsumerResult consumer;
  consumer.name = "app";
  consumer.status = ConsumerStatus::failed;
  TestCase test;
  test.name = std::string("esc\x1b[31m bel\x07 nul\0 bad\xff", 23);
  test.status = TestStatus::failed;
  test.outcome = gate::Outcome::regression;
  test.blocks = true;
  test.message = "vertical\x0btab";
  test.details = "form\x0c feed";
  consumer.tests.push_back(test);
  verdict.consumers.push_back(consumer);
  std::string xml = render_junit(verdict);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
  EXPECT_EQ(xml.find("&#27;"), std::string::npos) << "a character reference XML 1.0 forbids";
  EXPECT_NE(xml.find("esc\\x1B[31m bel\\x07 nul\\x00 bad\xEF\xBF\xBD"), std::string::npos) << xml;
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(xml.c_str()));
}

TEST(JUnitParse, ARepeatedTestKeepsItsWorstResult) {
  auto tests = parse_junit_text(R"(<testsuites>
  <testsuite name="one"><testcase classname="t" name="same" time="1"><failure message="broken"/></testcase>
    <testcase classname="t" name="other"/></testsuite>
  <testsuite name="two"><testcase classname="t" name="same" time="2"/><testcase classname="t" name="other"><skipped/></testcase>
    <testcase classname="u" name="same"/><testcase name="t::same"/></testsuite></testsuites>)",
                                "x.xml");
  merge_repeated_tests(tests);
  ASSERT_EQ(tests.size(), 3u);  // t::same, t::other, u::same ("t::same" without a classname is t::same too)
  EXPECT_EQ(tests[0].id(), "t::same");
  EXPECT_EQ(tests[0].status, TestStatus::failed);  // the pass after it does not hide it
  EXPECT_EQ(tests[0].message, "broken");
  EXPECT_DOUBLE_EQ(tests[0].seconds, 3.0);
  EXPECT_EQ(tests[1].id(), "t::other");
  EXPECT_EQ(tests[1].status, TestStatus::passed);  // a skip does not hide a pass
  EXPECT_EQ(tests[2].id(), "u::same");
}

// What reporters write that XML 1.0 forbids is read, marked, not refused.
TEST(JUnitParse, ForbiddenCharactersAreMarkedNotRefused) {
  auto tests = parse_junit_text(std::string("<testsuite><testcase name=\"raw\x1b[31m &#27;[0m &#x7; bad\xff end\">"
                                            "<failure>trace \x01</failure></testcase></testsuite>"),
                                "x.xml");
  ASSERT_EQ(tests.size(), 1u);
  EXPECT_EQ(tests[0].name, "raw\\x1B[31m \\x1B[0m \\x07 bad\xEF\xBF\xBD end");
  EXPECT_EQ(tests[0].details, "trace \\x01");
}

// Anywhere in a file of more than a megabyte (where a reader in pieces would
// cut them), a reference and multi-byte characters are read whole.
TEST(JUnitParse, SequencesPastTheFirstMegabyteAreReadWhole) {
  for (size_t shift = 0; shift < 8; ++shift) {
    std::string head = "<testsuite><testcase name=\"a\"/>";
    std::string padding((1 << 20) - head.size() - 30 + shift, ' ');
    std::string xml = head + "<!--" + padding + "--><testcase name=\"x&#27;\xC3\xA9&amp;\xE2\x82\xAC\"/></testsuite>";
    auto file = std::filesystem::temp_directory_path() / ("gate-chunks-" + std::to_string(::getpid()) + ".xml");
    std::ofstream(file, std::ios::binary) << xml;
    auto tests = parse_junit_file(file);
    std::filesystem::remove(file);
    ASSERT_EQ(tests.size(), 2u) << shift;
    EXPECT_EQ(tests[1].name, "x\\x1B\xC3\xA9&\xE2\x82\xAC") << shift;
  }
}

TEST(JUnitParse, EntitiesAndDeepElementsAreRefused) {
  try {
    parse_junit_text(
        R"(<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><testsuite><testcase name="&a;"/></testsuite>)",
        "bomb.xml");
    FAIL() << "an entity declaration was read";
  } catch (const gate::InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("entities are refused"), std::string::npos) << e.what();
  }
  std::string deep = "<testsuite><testcase name=\"t\">";
  for (int i = 0; i < 300; ++i) deep += "<x>";
  EXPECT_THROW(parse_junit_text(deep, "deep.xml"), gate::InfraError);
  try {
    parse_junit_text("<testsuite><testcase name='a'></testsuite>", "broken.xml");
    FAIL();
  } catch (const gate::InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.xml: not valid XML at line 1, column"), std::string::npos) << e.what();
  }
}

// A report read in pieces (cut before a '<', so no character or reference is
// cut) reads as it does whole: pieces of a few bytes cut it everywhere.
TEST(Junit, PiecesReadAsTheWhole) {
  const std::string long_text(300, 'x');
  const std::vector<std::string> reports = {
      R"(<?xml version="1.0" encoding="UTF-8"?><testsuites><testsuite name="s"><testcase classname="t.m" name="a&lt;b" time="0.5"/>)"
      R"(<testcase classname="t.m" name="caf)"
      "\xC3\xA9"
      R"(_&#233;"><failure message="esc &#27;[31m">trace )"
      "\x1B"
      R"( line</failure></testcase>)"
      R"(<testcase classname="t.m" name="cdata"><error><![CDATA[x < y && "quoted"]]></error></testcase>)"
      R"(<testcase classname="t.m" name="long"><failure message=")" +
          long_text + R"(">)" + long_text +
          R"(</failure></testcase>)"
          R"(<testcase classname="t.m" name="bad )"
          "\xFF\xFE"
          R"( bytes"><skipped message="later"/></testcase></testsuite></testsuites>)",
      R"(<testsuite><testcase name="t" /><testcase name="t"><failure/></testcase></testsuite>)",
  };
  for (const auto& report : reports) {
    auto whole = parse_junit_text(report, "whole.xml");
    for (size_t piece : {1, 2, 3, 7, 16, 64}) {
      auto cut = parse_junit_text(report, "cut.xml", piece);
      ASSERT_EQ(cut.size(), whole.size()) << "pieces of " << piece;
      for (size_t i = 0; i < whole.size(); ++i) {
        EXPECT_EQ(cut[i].id(), whole[i].id()) << "pieces of " << piece;
        EXPECT_EQ(cut[i].status, whole[i].status) << "pieces of " << piece;
        EXPECT_EQ(cut[i].message, whole[i].message) << "pieces of " << piece;
        EXPECT_EQ(cut[i].details, whole[i].details) << "pieces of " << piece;
        EXPECT_EQ(cut[i].seconds, whole[i].seconds) << "pieces of " << piece;
      }
    }
  }
  // Bad XML is refused however it is cut.
  EXPECT_THROW(parse_junit_text("<testsuite><testcase name='a'></testsuite>", "bad.xml", 3), gate::InfraError);
}

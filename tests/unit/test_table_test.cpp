#include "suite/test_table.h"

#include <gtest/gtest.h>

using namespace gate::suite;
using gate::report::TestCase;
using gate::report::TestStatus;

namespace {
TestCase test(std::string name, TestStatus status = TestStatus::passed) {
  TestCase t;
  t.classname = "c";
  t.name = std::move(name);
  t.status = status;
  return t;
}
}  // namespace

TEST(TestTable, AdoptKeepsTheWorstOfARepeatedTest) {
  TestTable table;
  table.adopt({test("a", TestStatus::failed), test("b"), test("a"), test("b", TestStatus::skipped)});
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.find("c::a")->status, TestStatus::failed);
  EXPECT_EQ(table.find("c::b")->status, TestStatus::passed);
  EXPECT_EQ(table.find("c::z"), nullptr);
  size_t seen = 0;
  table.for_each([&](const TestCase&) { ++seen; });
  EXPECT_EQ(seen, 2u);
}

TEST(TestTable, PutReplacesAndAdds) {
  TestTable table;
  table.adopt({test("a", TestStatus::failed)});
  table.put(test("a"));
  table.put(test("n", TestStatus::error));
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.find("c::a")->status, TestStatus::passed);
  EXPECT_EQ(table.find("c::n")->status, TestStatus::error);
}

TEST(TestTable, ReleaseInOrderReordersInPlace) {
  TestTable table;
  std::vector<TestCase> cases;
  for (const char* name : {"d", "a", "e", "b", "c"}) cases.push_back(test(name));
  table.adopt(std::move(cases));
  // "x" is not held, "b" asked twice, "e" not asked: left out.
  auto out = table.release_in_order({"c::a", "c::b", "c::x", "c::c", "c::b", "c::d"});
  std::vector<std::string> names;
  for (const auto& t : out) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(table.size(), 0u);
}

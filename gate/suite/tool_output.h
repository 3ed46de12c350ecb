#pragma once
// What the test tools print, read line by line: the runners' parsers, kept
// apart from the processes so that each is unit-tested on the tools' own
// output (tests/unit/tool_output_test.cpp).
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/model.h"

namespace gate::suite {

// pytest --collect-only -q: one node id per line ("tests/x.py::test_a[1]").
bool is_pytest_node_line(std::string_view line);
// pytest -v: "tests/x.py::test_a PASSED   [ 50%]" -> (node id, "PASSED").
bool parse_pytest_verbose_line(std::string_view line, std::string* node, std::string* word);
report::TestStatus pytest_status(std::string_view word);

// ctest -N: "  Test  #3: name" (disabled tests are left out).
bool parse_ctest_listing(std::string_view line, std::string* name);
// ctest: "3/3 Test #3: hang .......***Timeout   1.00 sec" -> (name, "Timeout").
bool parse_ctest_result(std::string_view line, std::string* name, std::string* word);

// `go test -list PATTERN pkgs...`: test names, each package's list ended by
// its "ok  <package>" line -> "<package>::<TestName>".
std::vector<std::string> parse_go_test_list(std::string_view output);

// `go test -json` events of one package (also what `go tool test2json`
// makes of a test binary's -test.v output).
class GoEvents {
 public:
  explicit GoEvents(std::string package) : package_(std::move(package)) {}
  // Reads one line. A top-level test that finished (pass, fail, skip) comes
  // back, a failure with the first "file_test.go:12: ..." line of its output
  // as the message. `echo` gets the text to show live, if any: a test's
  // output, or a line that is not an event (a build error).
  std::optional<report::TestCase> read(std::string_view line, std::string* echo);

 private:
  std::optional<report::TestCase> read_event(const nlohmann::json& event, std::string* echo);
  std::string package_;
  std::map<std::string, std::string> output_;  // per test, bounded
};

}  // namespace gate::suite

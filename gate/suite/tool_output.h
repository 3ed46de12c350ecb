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

// What gate's pytest plugin (suite/pytest_plugin/gate_pytest.py) writes: one
// JSON object a line.
struct PytestEvent {
  enum class Kind { collected, collect_error, selected, start, finish };
  Kind kind = Kind::start;
  std::string id;                    // start, finish, collect-error: the node id
  report::TestStatus status{};       // finish
  double seconds = 0;                // finish: setup, call and teardown
  std::string message, details;      // finish (failed, error, skipped), collect-error
  size_t count = 0;                  // collected, selected
  std::string sha256;                // collected: of the ids, one a line (hex)
  std::vector<std::string> missing;  // selected: asked for, not collected
};
// The event of a line, or nothing for a line that is not one (a test's own
// output in the file, JSON of another shape, fields of the wrong type).
std::optional<PytestEvent> parse_pytest_event(std::string_view line);

// ctest -N: "  Test  #3: name" (disabled tests are left out), and its number.
bool parse_ctest_listing(std::string_view line, std::string* name, int* number = nullptr);
// ctest: "3/3 Test #3: hang .......***Timeout   1.00 sec" -> (name, "Timeout");
// "***Not Run" -> "Not Run", "***Not Run (Disabled)" -> "Disabled".
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

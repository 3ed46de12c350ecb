#include "suite/tool_output.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace gate::suite {

bool is_pytest_node_line(std::string_view line) {
  return line.find("::") != std::string_view::npos && line.find(' ') == std::string_view::npos;
}

bool parse_pytest_verbose_line(std::string_view line, std::string* node, std::string* word) {
  static constexpr std::string_view kWords[] = {" PASSED", " FAILED", " ERROR", " SKIPPED", " XFAIL", " XPASS"};
  if (line.find("::") == std::string_view::npos) return false;
  for (auto w : kWords) {
    auto pos = line.find(w);
    if (pos == std::string_view::npos || pos == 0) continue;
    size_t end = pos + w.size();
    if (end < line.size() && line[end] != ' ') continue;
    *node = std::string(line.substr(0, pos));
    *word = std::string(w.substr(1));
    return node->find(' ') == std::string::npos;
  }
  return false;
}

report::TestStatus pytest_status(std::string_view word) {
  if (word == "PASSED" || word == "XFAIL" || word == "XPASS") return report::TestStatus::passed;
  if (word == "SKIPPED") return report::TestStatus::skipped;
  if (word == "ERROR") return report::TestStatus::error;
  return report::TestStatus::failed;
}

bool parse_ctest_listing(std::string_view line, std::string* name) {
  auto test = line.find("Test");
  auto hash = line.find('#');
  auto colon = line.find(": ", hash == std::string_view::npos ? 0 : hash);
  if (test == std::string_view::npos || hash == std::string_view::npos || colon == std::string_view::npos) return false;
  if (line.substr(0, test).find_first_not_of(' ') != std::string_view::npos) return false;
  std::string rest(line.substr(colon + 2));
  if (rest.find(" (Disabled)") != std::string::npos || rest.empty()) return false;
  *name = rest;
  return true;
}

bool parse_ctest_result(std::string_view line, std::string* name, std::string* word) {
  auto colon = line.find(": ");
  if (line.find("Test #") == std::string_view::npos || colon == std::string_view::npos) return false;
  auto rest = line.substr(colon + 2);
  auto space = rest.find(' ');
  if (space == std::string_view::npos) return false;
  *name = std::string(rest.substr(0, space));
  auto after = rest.substr(space);
  auto start = after.find_first_not_of(" .*");
  if (start == std::string_view::npos) return false;
  auto end = after.find_first_of(" ", start);
  *word = std::string(after.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
  return true;
}

std::vector<std::string> parse_go_test_list(std::string_view output) {
  std::vector<std::string> tests, pending;
  std::istringstream lines{std::string(output)};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("ok ", 0) == 0 || line.rfind("ok\t", 0) == 0) {
      std::istringstream fields(line);
      std::string ok, package;
      fields >> ok >> package;
      for (const auto& name : pending) tests.push_back(package + "::" + name);
      pending.clear();
    } else if (line.rfind("Test", 0) == 0 && line.find(' ') == std::string::npos) {
      pending.push_back(line);
    }
  }
  return tests;
}

std::optional<report::TestCase> GoEvents::read(std::string_view line, std::string* echo) {
  echo->clear();
  nlohmann::json event;
  try {
    event = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception&) {
    *echo = std::string(line);  // build errors and the like
    return std::nullopt;
  }
  // A line that parses but is not an event of the shape go writes (a test
  // printing JSON) is output, never a crash.
  if (!event.is_object()) {
    *echo = std::string(line);
    return std::nullopt;
  }
  try {
    return read_event(event, echo);
  } catch (const nlohmann::json::exception&) {
    *echo = std::string(line);
    return std::nullopt;
  }
}

std::optional<report::TestCase> GoEvents::read_event(const nlohmann::json& event, std::string* echo) {
  std::string action = event.value("Action", "");
  std::string test = event.value("Test", "");
  if (action == "output") {
    std::string text = event.value("Output", "");
    *echo = !text.empty() && text.back() == '\n' ? text.substr(0, text.size() - 1) : text;
    if (!test.empty() && output_[test].size() < 8192) output_[test] += text;
    return std::nullopt;
  }
  if (test.empty() || test.find('/') != std::string::npos) return std::nullopt;  // package events, subtests
  report::TestStatus status;
  if (action == "pass")
    status = report::TestStatus::passed;
  else if (action == "fail")
    status = report::TestStatus::failed;
  else if (action == "skip")
    status = report::TestStatus::skipped;
  else
    return std::nullopt;
  const std::string& out = output_[test];
  report::TestCase t{"", package_ + "::" + test, status, event.value("Elapsed", 0.0), "", out};
  if (status == report::TestStatus::failed) {
    // The first "file_test.go:12: message" line says why.
    std::istringstream lines(out);
    for (std::string l; std::getline(lines, l);) {
      if (l.find(".go:") != std::string::npos) {
        t.message = l.substr(l.find_first_not_of(" \t"));
        break;
      }
    }
    if (t.message.empty()) t.message = "failed";
  }
  return t;
}

}  // namespace gate::suite

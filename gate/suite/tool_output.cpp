#include "suite/tool_output.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gate::suite {

namespace {

std::optional<report::TestStatus> pytest_outcome(const std::string& word) {
  if (word == "passed") return report::TestStatus::passed;
  if (word == "failed") return report::TestStatus::failed;
  if (word == "error") return report::TestStatus::error;
  if (word == "skipped") return report::TestStatus::skipped;
  return std::nullopt;
}

std::string text_field(const nlohmann::json& event, const char* key) {
  auto it = event.find(key);
  return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::optional<PytestEvent> parse_pytest_event(std::string_view line) {
  if (line.empty() || line.front() != '{') return std::nullopt;
  auto event = nlohmann::json::parse(line, nullptr, false);
  if (!event.is_object()) return std::nullopt;
  const std::string kind = text_field(event, "event");
  PytestEvent out;
  out.id = text_field(event, "id");
  out.message = text_field(event, "message");
  out.details = text_field(event, "details");
  if (auto count = event.find("count"); count != event.end() && count->is_number_unsigned()) {
    out.count = count->get<size_t>();
  }
  if (kind == "start" || kind == "finish" || kind == "collect-error") {
    if (kind != "collect-error" && out.id.empty()) return std::nullopt;
    out.kind = kind == "start"    ? PytestEvent::Kind::start
               : kind == "finish" ? PytestEvent::Kind::finish
                                  : PytestEvent::Kind::collect_error;
    if (kind != "finish") return out;
    auto status = pytest_outcome(text_field(event, "outcome"));
    if (!status) return std::nullopt;  // never green by accident
    out.status = *status;
    if (auto seconds = event.find("seconds"); seconds != event.end() && seconds->is_number()) {
      out.seconds = std::max(0.0, seconds->get<double>());
    }
    return out;
  }
  if (kind == "collected") {
    out.kind = PytestEvent::Kind::collected;
    out.sha256 = text_field(event, "sha256");
    return out;
  }
  if (kind == "selected") {
    out.kind = PytestEvent::Kind::selected;
    if (auto missing = event.find("missing"); missing != event.end() && missing->is_array()) {
      for (const auto& id : *missing) {
        if (id.is_string()) out.missing.push_back(id.get<std::string>());
      }
    }
    return out;
  }
  return std::nullopt;
}

bool parse_ctest_listing(std::string_view line, std::string* name, int* number) {
  auto test = line.find("Test");
  auto hash = line.find('#');
  auto colon = line.find(": ", hash == std::string_view::npos ? 0 : hash);
  if (test == std::string_view::npos || hash == std::string_view::npos || colon == std::string_view::npos) return false;
  if (line.substr(0, test).find_first_not_of(' ') != std::string_view::npos) return false;
  std::string rest(line.substr(colon + 2));
  if (rest.find(" (Disabled)") != std::string::npos || rest.empty()) return false;
  if (number) {
    auto digits = line.substr(hash + 1, colon - hash - 1);
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
    *number = std::stoi(std::string(digits));
  }
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
  auto end = after.find(' ', start);
  *word = std::string(after.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
  // "***Not Run (Disabled)" is a test switched off; "***Not Run" one that
  // could not start (its program missing, a fixture or file it needs failed).
  if (*word == "Not") *word = after.find("(Disabled)") != std::string_view::npos ? "Disabled" : "Not Run";
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

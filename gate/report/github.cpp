#include "report/github.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/log.h"

namespace gate::report {

std::string github_escape_data(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '%')
      out += "%25";
    else if (c == '\r')
      out += "%0D";
    else if (c == '\n')
      out += "%0A";
    else
      out += c;
  }
  return out;
}

std::string github_escape_property(const std::string& text) {
  std::string out;
  for (char c : github_escape_data(text)) {
    if (c == ':')
      out += "%3A";
    else if (c == ',')
      out += "%2C";
    else
      out += c;
  }
  return out;
}

void github_annotations(const Verdict& verdict, size_t limit) {
  size_t shown = 0;
  for (const auto& consumer : verdict.consumers) {
    for (const auto& test : consumer.tests) {
      if (!test.blocking() || shown >= limit) continue;
      ++shown;
      // pytest node ids name the file: "tests/test_x.py::test_a".
      std::string id = test.id();
      std::string file;
      if (auto sep = id.find("::"); sep != std::string::npos && id.substr(0, sep).find(".py") != std::string::npos) {
        file = id.substr(0, sep);
      }
      // The line: the last "file:NN:" the runner's trace names in that file.
      std::string line;
      if (!file.empty()) {
        for (size_t pos = test.details.find(file + ":"); pos != std::string::npos;
             pos = test.details.find(file + ":", pos + 1)) {
          size_t start = pos + file.size() + 1, end = start;
          while (end < test.details.size() && std::isdigit(static_cast<unsigned char>(test.details[end]))) ++end;
          if (end > start) line = test.details.substr(start, end - start);
        }
      }
      std::string properties = file.empty() ? "" : "file=" + github_escape_property(file) + ",";
      if (!line.empty()) properties += "line=" + line + ",";
      properties += "title=" + github_escape_property(fmt::format(
                                   "{}: {} {}", consumer.name, id,
                                   test.outcome == Outcome::unclassified ? "failed" : outcome_name(test.outcome)));
      std::printf(
          "::error %s::%s\n", properties.c_str(),
          github_escape_data(log::redact(test.message.empty() ? std::string(outcome_name(test.outcome)) : test.message))
              .c_str());
    }
    if (consumer.tests.empty() && !consumer.passed() && shown < limit) {
      ++shown;
      std::string reasons;
      for (const auto& r : consumer.reasons) reasons += (reasons.empty() ? "" : "; ") + r;
      std::printf(
          "::error title=%s::%s\n",
          github_escape_property(fmt::format("{}: {}", consumer.name, consumer_status_name(consumer.status))).c_str(),
          github_escape_data(log::redact(reasons)).c_str());
    }
  }
  std::fflush(stdout);
}

void github_outputs(const Verdict& verdict) {
  const char* path = std::getenv("GITHUB_OUTPUT");
  if (!path || !*path) return;
  std::ofstream out(path, std::ios::app);
  out << "verdict=" << (verdict.skipped ? "skipped" : std::string(exit_code_name(verdict.exit_code))) << "\n";
  out << "digest=" << verdict.candidate.digest << "\n";
  if (!out) log::warn(fmt::format("could not write the job outputs to {}", path));
}

}  // namespace gate::report

#include "config/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

namespace gate::config {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

Policy read_policy(const Reader& r, const YAML::Node& node, const std::string& what) {
  r.expect_map(node, what);
  Policy policy;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string name = r.scalar(it->first, what + " outcome");
    std::optional<Outcome> outcome = outcome_from_name(name);
    if (!outcome || !default_policy().count(*outcome)) {
      r.fail(it->first.Mark(), fmt::format("{}: '{}' is not an outcome (regression, pre-existing, flaky, newly-flaky, "
                                           "missing, timed-out, error)",
                                           what, name));
    }
    std::string action = r.scalar(it->second, what + " " + name);
    if (action != "block" && action != "warn") {
      r.fail(it->second.Mark(), fmt::format("{}: {} must be block or warn, found '{}'", what, name, action));
    }
    policy[*outcome] = action == "block" ? PolicyAction::block : PolicyAction::warn;
  }
  return policy;
}

Limit read_limit(const Reader& r, const YAML::Node& node, const std::string& what) {
  std::string text = r.scalar(node, what);
  Limit limit;
  limit.percent = !text.empty() && text.back() == '%';
  std::string number = limit.percent ? text.substr(0, text.size() - 1) : text;
  bool digits = !number.empty() && number.size() < 8 &&
                std::all_of(number.begin(), number.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; }) &&
                std::count(number.begin(), number.end(), '.') <= 1 && number.front() != '.';
  if (!digits || (!limit.percent && number.find('.') != std::string::npos)) {
    r.fail(node.Mark(), fmt::format("{} must be a count of tests (e.g. 3) or a percentage of the selected tests "
                                    "(e.g. 10%), found '{}'",
                                    what, text));
  }
  limit.value = std::stod(number);
  if (limit.percent && limit.value > 100) r.fail(node.Mark(), fmt::format("{} {} is over 100%", what, text));
  return limit;
}

}  // namespace gate::config

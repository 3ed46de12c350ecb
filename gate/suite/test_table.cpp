#include "suite/test_table.h"

#include <algorithm>

#include "report/junit.h"

namespace gate::suite {
namespace {

size_t hash_of(std::string_view id) { return std::hash<std::string_view>{}(id); }

}  // namespace

std::optional<size_t> TestTable::position(std::string_view id) const {
  const size_t hash = hash_of(id);
  auto [first, last] = std::equal_range(sorted_.begin(), sorted_.end(), std::pair<size_t, uint32_t>{hash, 0},
                                        [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto it = first; it != last; ++it) {
    if (cases_[it->second].has_id(id)) return it->second;
  }
  auto [more, more_end] = added_.equal_range(hash);
  for (auto it = more; it != more_end; ++it) {
    if (cases_[it->second].has_id(id)) return it->second;
  }
  return std::nullopt;
}

void TestTable::adopt(std::vector<report::TestCase> cases) {
  report::merge_repeated_tests(cases);  // the one rule for a test named twice
  cases_ = std::move(cases);
  added_.clear();
  sorted_.clear();
  sorted_.reserve(cases_.size());
  for (size_t i = 0; i < cases_.size(); ++i) sorted_.emplace_back(hash_of(cases_[i].id()), static_cast<uint32_t>(i));
  std::sort(sorted_.begin(), sorted_.end());
}

report::TestCase& TestTable::put(report::TestCase test) {
  const std::string id = test.id();
  if (auto at = position(id)) return cases_[*at] = std::move(test);
  added_.emplace(hash_of(id), cases_.size());
  cases_.push_back(std::move(test));
  return cases_.back();
}

report::TestCase* TestTable::find(std::string_view id) {
  auto at = position(id);
  return at ? &cases_[*at] : nullptr;
}

const report::TestCase* TestTable::find(std::string_view id) const {
  auto at = position(id);
  return at ? &cases_[*at] : nullptr;
}

std::vector<report::TestCase> TestTable::release_in_order(const std::vector<std::string>& order) {
  // from[i]: the position whose result goes to position i. The first part
  // from `order`; the rest of the positions after it, to make a permutation.
  std::vector<size_t> from;
  from.reserve(cases_.size());
  std::vector<bool> chosen(cases_.size(), false);
  for (const auto& id : order) {
    auto at = position(id);
    if (at && !chosen[*at]) {
      chosen[*at] = true;
      from.push_back(*at);
    }
  }
  const size_t kept = from.size();
  for (size_t i = 0; i < cases_.size(); ++i) {
    if (!chosen[i]) from.push_back(i);
  }
  // Applied cycle by cycle, each result moved once.
  std::vector<bool> placed(cases_.size(), false);
  for (size_t start = 0; start < cases_.size(); ++start) {
    if (placed[start] || from[start] == start) continue;
    report::TestCase held = std::move(cases_[start]);
    size_t at = start;
    while (from[at] != start) {
      cases_[at] = std::move(cases_[from[at]]);
      placed[at] = true;
      at = from[at];
    }
    cases_[at] = std::move(held);
    placed[at] = true;
  }
  cases_.resize(kept);
  std::vector<report::TestCase> out = std::move(cases_);
  cases_.clear();
  sorted_.clear();
  added_.clear();
  return out;
}

}  // namespace gate::suite

#include "suite/test_table.h"

namespace gate::suite {
namespace {

size_t hash_of(std::string_view id) { return std::hash<std::string_view>{}(id); }

int severity(report::TestStatus s) {
  using report::TestStatus;
  return s == TestStatus::error ? 3 : s == TestStatus::failed ? 2 : s == TestStatus::passed ? 1 : 0;
}

}  // namespace

std::optional<size_t> TestTable::position(std::string_view id) const {
  auto [first, last] = index_.equal_range(hash_of(id));
  for (auto it = first; it != last; ++it) {
    if (cases_[it->second].has_id(id)) return it->second;
  }
  return std::nullopt;
}

void TestTable::adopt(std::vector<report::TestCase> cases) {
  cases_.clear();
  taken_.clear();
  index_.clear();
  cases_ = std::move(cases);
  taken_.assign(cases_.size(), false);
  index_.reserve(cases_.size());
  for (size_t i = 0; i < cases_.size(); ++i) {
    const std::string id = cases_[i].id();
    if (auto earlier = position(id)) {
      if (severity(cases_[i].status) > severity(cases_[*earlier].status)) cases_[*earlier] = std::move(cases_[i]);
      taken_[i] = true;  // one result per id
      continue;
    }
    index_.emplace(hash_of(id), i);
  }
}

report::TestCase& TestTable::put(report::TestCase test) {
  const std::string id = test.id();
  if (auto at = position(id)) return cases_[*at] = std::move(test);
  index_.emplace(hash_of(id), cases_.size());
  cases_.push_back(std::move(test));
  taken_.push_back(false);
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
  taken_.clear();
  index_.clear();
  return out;
}

}  // namespace gate::suite

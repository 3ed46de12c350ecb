#pragma once
// The results of a set of tests, one per test id, in the order they came:
// a vector of the cases and an index by a hash of the id (the id itself is
// not kept again: a report may name a million tests, and each copy of a
// million ids costs ~80 MB).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "report/model.h"

namespace gate::suite {

class TestTable {
 public:
  // Takes `cases` whole as the table (no copy); a test named twice keeps
  // its worst result (report::merge_repeated_tests: a pass must not hide a
  // failure).
  void adopt(std::vector<report::TestCase> cases);
  // Sets the result of the test (replacing the one there was).
  report::TestCase& put(report::TestCase test);
  report::TestCase* find(std::string_view id);
  const report::TestCase* find(std::string_view id) const;

  // Empties the table into a vector of the results of `order`'s tests, in
  // that order (each once; tests not held left out), reordered in place:
  // no second vector of a million results.
  std::vector<report::TestCase> release_in_order(const std::vector<std::string>& order);

  size_t size() const { return cases_.size(); }
  // Every result held, in the order they came.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& test : cases_) f(test);
  }

 private:
  std::optional<size_t> position(std::string_view id) const;
  std::vector<report::TestCase> cases_;
  // The index by a hash of the id: (hash, position) sorted for the cases
  // adopted (16 bytes a test, not a hash map's ~40), a map for those put.
  std::vector<std::pair<size_t, uint32_t>> sorted_;
  std::unordered_multimap<size_t, size_t> added_;
};

}  // namespace gate::suite

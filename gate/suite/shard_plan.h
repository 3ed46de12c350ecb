#pragma once
// Splitting a consumer's tests over shards (machines) and workers by their
// recorded durations. Pure functions: values in, values out.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gate::suite {

// What a worker runs as one unit: one test, or every test of a serial group
// (tests sharing global state: one worker, one at a time).
// Positions of an item's tests in the list the items were made of, in
// collection order. Most items are one test: it is held inline, without a
// block of its own (a million items of a vector each cost ~70 MB).
class TestPositions {
 public:
  explicit TestPositions(uint32_t first) : first_(first) {}
  void push_back(uint32_t at) { more_.push_back(at); }
  size_t size() const { return 1 + more_.size(); }
  uint32_t front() const { return first_; }
  uint32_t operator[](size_t i) const { return i == 0 ? first_ : more_[i - 1]; }
  std::vector<uint32_t> to_vector() const {
    std::vector<uint32_t> out{first_};
    out.insert(out.end(), more_.begin(), more_.end());
    return out;
  }
  // Calls f with each position, in order.
  template <typename F>
  void for_each(F&& f) const {
    f(first_);
    for (uint32_t at : more_) f(at);
  }

 private:
  uint32_t first_;
  std::vector<uint32_t> more_;
};

// The price of a test when nothing at all is known of the consumer's.
inline constexpr double kGuessedPrice = 1.0;

struct WorkItem {
  TestPositions tests;
  double estimate = 0;   // seconds
  bool guessed = false;  // nothing of the consumer's was known: kGuessedPrice
  // Collection position of its first test (items are ordered by it).
  uint32_t first_index() const { return tests.front(); }
};

// The recorded duration of each test of a list, by position (< 0: none
// recorded); a vector of doubles, not a map of a million names.
using Prices = std::vector<double>;
Prices prices_in(const std::map<std::string, double>& durations, const std::vector<std::string>& tests);

// Items of `tests` (in collection order): a test matching a serial-group
// glob joins that group's item. A duration not recorded is priced at the
// mean of its file's recorded ones (the part of its name before "::"), else
// of all recorded ones, else at kGuessedPrice (the item is `guessed`).
std::vector<WorkItem> make_items(const std::vector<std::string>& tests, const Prices& prices,
                                 const std::vector<std::string>& serial_groups);

// Deterministic, duration-balanced split (longest first onto the lightest
// bin; ties to the lower bin), collection order kept inside each bin.
// Takes the items by value: moved in, moved into the bins.
std::vector<std::vector<WorkItem>> balance(std::vector<WorkItem> items, size_t bins);

// What a split is, as one digest: every test's id and the shard it went to.
// Shards that collected other tests or priced them otherwise (another
// timing store) differ in it; `gate merge` refuses them.
std::string split_digest(const std::vector<std::vector<WorkItem>>& bins, const std::vector<std::string>& collected);

double total_estimate(const std::vector<WorkItem>& items);

}  // namespace gate::suite

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
struct WorkItem {
  std::vector<uint32_t> tests;     // positions in the list of tests the items were made of, in collection order
  double estimate = 0;             // seconds
  size_t first_index = 0;          // collection position of its first test
};

// The recorded duration of each test of a list, by position (< 0: none
// recorded); a vector of doubles, not a map of a million names.
using Prices = std::vector<double>;
Prices prices_in(const std::map<std::string, double>& durations, const std::vector<std::string>& tests);

// Items of `tests` (in collection order): a test matching a serial-group
// glob joins that group's item. Durations not recorded (or no prices at
// all) are priced at the mean of the recorded ones (1 s when none is).
std::vector<WorkItem> make_items(const std::vector<std::string>& tests, const Prices& prices,
                                 const std::vector<std::string>& serial_groups);

// Deterministic, duration-balanced split (longest first onto the lightest
// bin; ties to the lower bin), collection order kept inside each bin.
// Takes the items by value: moved in, moved into the bins.
std::vector<std::vector<WorkItem>> balance(std::vector<WorkItem> items, size_t bins);

double total_estimate(const std::vector<WorkItem>& items);

}  // namespace gate::suite

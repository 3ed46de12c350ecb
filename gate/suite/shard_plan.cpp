#include "suite/shard_plan.h"

#include <algorithm>
#include <numeric>
#include <queue>
#include <string_view>
#include <unordered_map>

#include "core/glob.h"
#include "registry/digest.h"

namespace gate::suite {

namespace {

// JUnit writes time="0.000" for a test under a millisecond; it still costs
// something, and a thousand of them are not free.
constexpr double kMinPrice = 0.001;

std::string_view file_of(std::string_view test) { return test.substr(0, test.find("::")); }

}  // namespace

Prices prices_in(const std::map<std::string, double>& durations, const std::vector<std::string>& tests) {
  Prices out(tests.size(), -1);
  for (size_t i = 0; i < tests.size(); ++i) {
    if (auto it = durations.find(tests[i]); it != durations.end()) out[i] = it->second;
  }
  return out;
}

std::vector<WorkItem> make_items(const std::vector<std::string>& tests, const Prices& prices,
                                 const std::vector<std::string>& serial_groups) {
  double known_total = 0;
  size_t known = 0;
  std::vector<double> price(tests.size(), -1);
  for (size_t i = 0; i < tests.size(); ++i) {
    if (i < prices.size() && prices[i] >= 0) {
      price[i] = std::max(prices[i], kMinPrice);
      known_total += price[i];
      ++known;
    }
  }
  // A test never seen is priced as its file's known tests (a test's file,
  // its package: what comes before "::"), else as the consumer's, else a
  // guess the scheduler corrects as batches finish (suite/scheduler.cpp).
  const double consumer_mean = known ? known_total / static_cast<double>(known) : kGuessedPrice;
  std::unordered_map<std::string_view, std::pair<double, size_t>> by_file;  // file -> (total, count) of the known
  if (known > 0 && known < tests.size()) {
    for (size_t i = 0; i < tests.size(); ++i) {
      if (price[i] < 0) continue;
      auto& [total, count] = by_file[file_of(tests[i])];
      total += price[i];
      ++count;
    }
  }
  auto unknown_price = [&](const std::string& test) {
    if (auto it = by_file.find(file_of(test)); it != by_file.end()) {
      return it->second.first / static_cast<double>(it->second.second);
    }
    return consumer_mean;
  };
  std::vector<WorkItem> items;
  items.reserve(tests.size());
  std::map<std::string, size_t> group_item;  // glob -> index in items
  for (size_t i = 0; i < tests.size(); ++i) {
    const std::string& test = tests[i];
    const bool guessed = price[i] < 0 && known == 0;
    const double seconds = price[i] >= 0 ? price[i] : unknown_price(test);
    std::string group;
    for (const auto& glob : serial_groups) {
      if (glob_match(glob, test)) {
        group = glob;
        break;
      }
    }
    if (!group.empty()) {
      if (auto g = group_item.find(group); g != group_item.end()) {
        items[g->second].tests.push_back(static_cast<uint32_t>(i));
        items[g->second].estimate += seconds;
        items[g->second].guessed = items[g->second].guessed || guessed;
        continue;
      }
      group_item[group] = items.size();
    }
    items.push_back(WorkItem{TestPositions(static_cast<uint32_t>(i)), seconds, guessed});
  }
  return items;
}

std::vector<std::vector<WorkItem>> balance(std::vector<WorkItem> items, size_t bins) {
  if (bins == 0) bins = 1;
  if (bins == 1) {  // everything, in collection order (the items already are)
    std::vector<std::vector<WorkItem>> one;
    one.push_back(std::move(items));
    return one;
  }
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (items[a].estimate != items[b].estimate) return items[a].estimate > items[b].estimate;
    return items[a].first_index() < items[b].first_index();
  });
  using Load = std::pair<double, size_t>;  // (seconds, bin): the lightest, then the lowest bin, first
  std::priority_queue<Load, std::vector<Load>, std::greater<>> lightest;
  for (size_t b = 0; b < bins; ++b) lightest.push({0.0, b});
  // Which bin each item goes to, then each bin filled at its final size.
  std::vector<size_t> bin_of(items.size());
  std::vector<size_t> sizes(bins, 0);
  for (size_t index : order) {
    auto [load, bin] = lightest.top();
    lightest.pop();
    lightest.push({load + items[index].estimate, bin});
    bin_of[index] = bin;
    ++sizes[bin];
  }
  std::vector<std::vector<WorkItem>> out(bins);
  for (size_t b = 0; b < bins; ++b) out[b].reserve(sizes[b]);
  for (size_t index = 0; index < items.size(); ++index) out[bin_of[index]].push_back(std::move(items[index]));
  for (auto& bin : out) {
    std::sort(bin.begin(), bin.end(),
              [](const WorkItem& a, const WorkItem& b) { return a.first_index() < b.first_index(); });
  }
  return out;
}

std::string split_digest(const std::vector<std::vector<WorkItem>>& bins, const std::vector<std::string>& collected) {
  registry::Sha256Stream hash;
  for (size_t b = 0; b < bins.size(); ++b) {
    const std::string bin = std::to_string(b + 1) + "\t";
    for (const auto& item : bins[b]) {
      item.tests.for_each([&](uint32_t at) {
        hash.update(bin);
        hash.update(collected[at]);
        hash.update("\n");
      });
    }
  }
  return "sha256:" + hash.hex();
}

double total_estimate(const std::vector<WorkItem>& items) {
  double total = 0;
  for (const auto& item : items) total += item.estimate;
  return total;
}

}  // namespace gate::suite

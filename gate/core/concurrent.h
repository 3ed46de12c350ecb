#pragma once
// for_each_concurrently: one call of `work` per item, at most `limit` at once,
// each on a thread of its own. Every call runs to its end; then the first
// exception thrown (in item order) is rethrown. Used where each item is a
// registry round trip, so waiting for them one after another would add up.
// beside: runs one piece of work while another, already started, goes on.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <future>
#include <vector>

namespace gate {

template <typename Item, typename Work>
void for_each_concurrently(const std::vector<Item>& items, size_t limit, Work work) {
  if (items.empty()) return;
  std::vector<std::exception_ptr> errors(items.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < items.size(); i = next++) {
      try {
        work(items[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  std::vector<std::future<void>> workers;
  const size_t threads = std::clamp<size_t>(limit, 1, items.size());
  for (size_t t = 1; t < threads; ++t) workers.push_back(std::async(std::launch::async, worker));
  worker();  // this thread is one of them
  for (auto& w : workers) w.get();
  for (auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

// Runs `first` on this thread while `other` (started before it) goes on,
// then waits for `other`. When `first` throws, its error is the one passed
// on: `other` is still waited for (nothing it started may outlive the
// caller), and its own error is dropped as secondary.
template <typename First>
void beside(std::future<void>& other, First first) {
  try {
    first();
  } catch (...) {
    try {
      other.get();
    } catch (...) {
    }
    throw;
  }
  other.get();
}

}  // namespace gate

#pragma once
// The timing store: per consumer, in the cache directory, what gate learnt
// of each test over earlier runs (its last duration, whether gate saw it
// flaky on a published image) and what the last passing run reported. Shards
// are planned from the durations; the rest is evidence for the verdict.
//
// File format (version 3, a JSON object per line, read and written as a
// stream): "gate-mac HEX", the HMAC-SHA256 of the rest under the cache's key
// (timings/.key); {"version": 3, "last_pass": {"commit": C, "selection": S}};
// then per test {"test": ID, "seconds": S, "flaky_on_published": N,
// "last_pass": I, "pre_existing": J} (fields present when they apply; I and J
// its positions in the last passing run's lists).
// Versions 1 ({ID: seconds}) and 2 (one document) are still read. A store
// without a valid MAC (written or edited by anything but gate) still gives
// durations; its flaky history and last passing run are not used.
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gate::suite {

struct TestHistory {
  double seconds = -1;         // last measured duration; < 0 unknown
  int flaky_on_published = 0;  // runs in which it failed and passed on a published image
};

// The last run of the consumer that passed: which tests it reported, and
// which of them were pre-existing failures.
struct LastPass {
  std::string commit;
  std::string selection;  // runner and test selection it ran (another selection, other tests)
  std::vector<std::string> tests;
  std::vector<std::string> pre_existing;
};

struct TimingStore {
  std::map<std::string, TestHistory> tests;
  std::optional<LastPass> last_pass;

  std::optional<double> seconds_of(const std::string& test) const;
  bool known_flaky(const std::string& test) const;
  bool was_pre_existing(const std::string& test) const;
};

struct StoreUpdate {
  std::vector<std::pair<std::string, double>> seconds;  // test, its duration in this run
  std::vector<std::string> flaky_on_published;
  std::optional<LastPass> last_pass;
  bool empty() const { return seconds.empty() && flaky_on_published.empty() && !last_pass; }
};

std::filesystem::path timings_file(const std::filesystem::path& cache_dir, const std::string& consumer);
// Missing store: empty; unreadable: empty, with a warning. With `seconds`,
// each recorded duration is handed to it instead of kept (a plan needs them
// once; a million of them in the store's map would cost ~110 MB): the store
// then keeps only the tests with flaky history.
using SecondsSink = std::function<void(std::string_view test, double seconds)>;
TimingStore load_store(const std::filesystem::path& file, const SecondsSink& seconds = {});
// Durations pinned by a plan (pipeline/shared_timings.h), as the shard's
// copy of them: {"seconds": {ID: S, ...}}. Durations only: no evidence.
void read_pinned_durations(const std::filesystem::path& file, const SecondsSink& seconds);
void write_pinned_durations(const std::filesystem::path& file, const std::map<std::string, double>& seconds);
// Merges the update into the store under a lock (concurrent writers keep
// each other's entries), written atomically.
void update_store(const std::filesystem::path& file, StoreUpdate update);

}  // namespace gate::suite

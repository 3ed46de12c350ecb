#pragma once
// The timing store: per consumer, in the cache directory, what gate learnt
// of each test over earlier runs (its last duration, whether gate saw it
// flaky on a published image) and what the last passing run reported. Shards
// are planned from the durations; the rest is evidence for the verdict.
//
// File format (JSON): {"version": 2, "tests": {ID: {"seconds": S,
// "flaky_on_published": N}}, "last_pass": {"commit": C, "selection": S, "tests": [...],
// "pre_existing": [...]}}. A version-1 file ({ID: seconds}) is read as
// durations only. gate writes a first line "gate-mac HEX" before the JSON:
// the HMAC-SHA256 of the rest under the cache's key (timings/.key). A store
// without a valid one (written or edited by anything but gate) still gives
// durations; its flaky history and last passing run are not used.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
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

  std::map<std::string, double> durations() const;
  bool known_flaky(const std::string& test) const;
  bool was_pre_existing(const std::string& test) const;
};

struct StoreUpdate {
  std::map<std::string, double> seconds;
  std::vector<std::string> flaky_on_published;
  std::optional<LastPass> last_pass;
  bool empty() const { return seconds.empty() && flaky_on_published.empty() && !last_pass; }
};

std::filesystem::path timings_file(const std::filesystem::path& cache_dir, const std::string& consumer);
// Missing store: empty; unreadable: empty, with a warning.
TimingStore load_store(const std::filesystem::path& file);
// Merges the update into the store under a lock (concurrent writers keep
// each other's entries), written atomically.
void update_store(const std::filesystem::path& file, const StoreUpdate& update);

// Durations only (the shard planner's view).
std::map<std::string, double> load_timings(const std::filesystem::path& file);
void update_timings(const std::filesystem::path& file, const std::map<std::string, double>& measured);

}  // namespace gate::suite

#pragma once
// The timing store: each test's last measured duration, per consumer, kept
// in the cache directory and updated after every run. Shards are planned
// from it.
#include <filesystem>
#include <map>
#include <string>

namespace gate::suite {

std::filesystem::path timings_file(const std::filesystem::path& cache_dir, const std::string& consumer);
// Missing or unreadable store: empty (with a warning when unreadable).
std::map<std::string, double> load_timings(const std::filesystem::path& file);
// Merges `measured` into the store (under a lock, written atomically).
void update_timings(const std::filesystem::path& file, const std::map<std::string, double>& measured);

}  // namespace gate::suite

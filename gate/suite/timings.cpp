#include "suite/timings.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/log.h"

namespace gate::suite {

std::filesystem::path timings_file(const std::filesystem::path& cache_dir, const std::string& consumer) {
  return cache_dir / "timings" / (consumer + ".json");
}

std::map<std::string, double> load_timings(const std::filesystem::path& file) {
  std::map<std::string, double> out;
  std::ifstream in(file);
  if (!in) return out;
  try {
    auto json = nlohmann::json::parse(in);
    for (const auto& [test, seconds] : json.items()) {
      if (seconds.is_number()) out[test] = seconds.get<double>();
    }
  } catch (const nlohmann::json::exception& e) {
    log::warn(fmt::format("timing store {} is unreadable ({}); planning without it", file.string(), e.what()));
    out.clear();
  }
  return out;
}

void update_timings(const std::filesystem::path& file, const std::map<std::string, double>& measured) {
  if (measured.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  int lock = ::open((file.string() + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  auto store = load_timings(file);
  for (const auto& [test, seconds] : measured) store[test] = seconds;
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [test, seconds] : store) json[test] = seconds;
  auto temp = file.string() + fmt::format(".tmp{}", ::getpid());
  {
    std::ofstream out(temp);
    out << json.dump(1) << "\n";
  }
  std::filesystem::rename(temp, file, ec);
  if (ec) log::warn(fmt::format("could not update the timing store {}: {}", file.string(), ec.message()));
  if (lock >= 0) ::close(lock);
}

}  // namespace gate::suite

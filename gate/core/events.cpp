#include "core/events.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <vector>

#include "core/log.h"

namespace gate::events {
namespace {

const auto g_origin = std::chrono::steady_clock::now();
std::mutex g_mutex;
std::vector<nlohmann::json> g_events;

}  // namespace

bool enabled() {
  static const bool on = std::getenv("GATE_NO_EVENTS") == nullptr;
  return on;
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - g_origin).count(); }

void record(nlohmann::json event) {
  if (!enabled()) return;
  event["t"] = now();
  std::lock_guard lock(g_mutex);
  g_events.push_back(std::move(event));
}

nlohmann::json snapshot() {
  std::lock_guard lock(g_mutex);
  return nlohmann::json(g_events);
}

size_t write(const std::filesystem::path& file) {
  std::lock_guard lock(g_mutex);
  std::ofstream out(file, std::ios::trunc);
  // Redacted like every file gate writes; invalid UTF-8 from outside replaced.
  for (const auto& e : g_events)
    out << log::redact(e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) << '\n';
  return g_events.size();
}

}  // namespace gate::events

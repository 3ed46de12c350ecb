#pragma once
// Watches the engine's container events during a run (`docker events`, a
// live subscription in a background thread) and, at the end, reports on the
// containers created from the images of interest (the candidate, services):
// start-up times per image (successful start-ups only: from create to
// running), peak concurrently running containers (+1 on start, -1 on die),
// and containers left behind (created, never destroyed).
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace gate::engine {

class LineStream;

struct ContainerEvent {
  std::string id;      // full id; a "ready" event may give a prefix of it
  std::string action;  // create, start, die, destroy; "ready": a service answered (gate's own)
  std::string image;   // as the container was created ("from")
  long long time_nano = 0;
  bool service = false;  // created by gate as a service (label gate.service)
};

struct ImageStartups {
  size_t count = 0;
  double min = 0, mean = 0, p95 = 0, max = 0;  // seconds
};

struct ContainerReport {
  std::map<std::string, ImageStartups> startups;  // per image
  size_t created = 0;
  size_t started = 0;
  size_t peak_running = 0;
  std::vector<std::string> left_behind;
  std::vector<ContainerEvent> events;
};

// Pure: the report from a sequence of events of the images of interest.
ContainerReport summarize(const std::vector<ContainerEvent>& events);
nlohmann::json to_json(const ContainerReport& report);

class ContainerWatch {
 public:
  // `repositories`: a container counts when its image starts with one of
  // them; empty: every container. Only containers created from now on are
  // seen (the subscription starts at this instant, to the nanosecond).
  // `record`: also add them to the run's event log (events.jsonl).
  explicit ContainerWatch(std::vector<std::string> repositories, bool record = true);
  ~ContainerWatch();  // stops the subscription
  ContainerWatch(const ContainerWatch&) = delete;
  ContainerWatch& operator=(const ContainerWatch&) = delete;

  void add_repository(const std::string& repository);
  // Stops after the engine had a moment to report the last removals.
  ContainerReport finish();
  // Stops and returns the create events seen (for a proof of what a phase
  // started); waits `drain` for the engine's last events to arrive.
  std::vector<ContainerEvent> created(std::chrono::milliseconds drain);

 private:
  void stop();
  void take(std::string_view line);
  std::vector<std::string> repositories_;
  std::mutex mutex_;
  std::vector<ContainerEvent> events_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<LineStream> stream_;  // the engine's socket, when gate can be sure of it
  std::atomic<int> pgid_{0};            // of the `docker events` child, otherwise
  std::thread thread_;
  long long since_nano_ = 0;
  bool record_ = true;
};

}  // namespace gate::engine

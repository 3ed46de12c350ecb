#include "engine/container_watch.h"

#include <fmt/format.h>

#include <signal.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "core/events.h"
#include "core/log.h"
#include "engine/engine_api.h"
#include "process/runner.h"

namespace gate::engine {

ContainerReport summarize(const std::vector<ContainerEvent>& events) {
  ContainerReport report;
  report.events = events;
  std::map<std::string, long long> created_at;
  std::map<std::string, std::string> image_of;
  std::set<std::string> running, destroyed, started, services;
  std::map<std::string, std::vector<double>> durations;
  auto startup = [&](const std::string& id, long long at) {
    if (auto c = created_at.find(id); c != created_at.end()) {
      durations[image_of[id]].push_back(static_cast<double>(at - c->second) / 1e9);
    }
  };
  for (const auto& e : events) {
    if (e.action == "create") {
      created_at[e.id] = e.time_nano;
      image_of[e.id] = e.image;
      if (e.service) services.insert(e.id);
      ++report.created;
    } else if (e.action == "start") {
      if (started.insert(e.id).second) ++report.started;
      running.insert(e.id);
      report.peak_running = std::max(report.peak_running, running.size());
      // A start-up ends when the container runs; a service's when it is ready.
      if (!services.count(e.id)) startup(e.id, e.time_nano);
    } else if (e.action == "ready") {
      for (const auto& id : services) {
        if (id.rfind(e.id, 0) == 0 && !e.id.empty()) startup(id, e.time_nano);
      }
    } else if (e.action == "die") {
      running.erase(e.id);
    } else if (e.action == "destroy") {
      running.erase(e.id);
      destroyed.insert(e.id);
    }
  }
  for (const auto& [id, t] : created_at) {
    if (!destroyed.count(id)) report.left_behind.push_back(id);
  }
  for (auto& [image, list] : durations) {
    std::sort(list.begin(), list.end());
    ImageStartups s;
    s.count = list.size();
    s.min = list.front();
    s.max = list.back();
    double total = 0;
    for (double d : list) total += d;
    s.mean = total / static_cast<double>(list.size());
    size_t rank = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(list.size())));
    s.p95 = list[std::min(list.size(), std::max<size_t>(rank, 1)) - 1];
    report.startups[image] = s;
  }
  return report;
}

nlohmann::json to_json(const ContainerReport& report) {
  nlohmann::json startups = nlohmann::json::object();
  for (const auto& [image, s] : report.startups) {
    startups[image] = {{"count", s.count}, {"min", s.min}, {"mean", s.mean}, {"p95", s.p95}, {"max", s.max}};
  }
  return {{"created", report.created},
          {"started", report.started},
          {"peak_running", report.peak_running},
          {"left_behind", report.left_behind},
          {"startup_seconds", startups}};
}

ContainerWatch::ContainerWatch(std::vector<std::string> repositories, bool record)
    : repositories_(std::move(repositories)), record_(record) {
  // Exactly now: a second back (as this once did) shows the previous run's containers.
  since_nano_ =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string since = fmt::format("{}.{:09d}", since_nano_ / 1000000000, since_nano_ % 1000000000);
  // The engine's own event stream where its socket is surely the CLI's; a
  // `docker events` child otherwise (and if the engine does not answer it).
  if (auto socket = EngineApi::socket_path()) {
    stream_ = std::make_unique<LineStream>(
        *socket, fmt::format("/events?since={}&filters={}", since, encoded_filter("type", {"container"})));
  }
  thread_ = std::thread([this, since] {
    if (stream_) {
      auto answer = stream_->run([this](std::string_view line) { take(line); });
      if (answer.status == 200 || stopping_) return;
    }
    process::Spec spec;
    spec.argv = {"docker", "events", "--format", "{{json .}}", "--filter", "type=container", "--since", since};
    spec.ignore_interrupt = true;  // it is stopped by finish(), after the clean-up it must see
    spec.grace = std::chrono::milliseconds(200);
    spec.keep_tail = 0;
    spec.should_stop = [this] { return stopping_.load(); };
    spec.on_start = [this](int pgid) { pgid_ = pgid; };
    spec.on_line = [this](std::string_view line) { take(line); };
    try {
      process::run(spec);
    } catch (const std::exception& e) {
      log::warn(fmt::format("container events unavailable: {}", e.what()));
    }
  });
}

// One event as the engine (or `docker events --format '{{json .}}'`) writes it.
void ContainerWatch::take(std::string_view line) {
  auto json = nlohmann::json::parse(line, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return;
  ContainerEvent e;
  e.action = json.value("Action", json.value("status", ""));
  e.id = json.value("id", json.contains("Actor") ? json["Actor"].value("ID", "") : "");
  e.image = json.value("from", "");
  e.time_nano = json.value("timeNano", 0LL);
  if (json.contains("Actor") && json["Actor"].contains("Attributes")) {
    e.service = json["Actor"]["Attributes"].contains("gate.service");
  }
  if (e.action != "create" && e.action != "start" && e.action != "die" && e.action != "destroy") return;
  if (e.time_nano != 0 && e.time_nano < since_nano_) return;
  std::lock_guard lock(mutex_);
  // "repo", "repo:tag" or "repo@sha256:..." of a repository of interest.
  bool ours =
      repositories_.empty() || std::any_of(repositories_.begin(), repositories_.end(), [&](const std::string& r) {
        return !r.empty() && e.image.rfind(r, 0) == 0 &&
               (e.image.size() == r.size() || e.image[r.size()] == ':' || e.image[r.size()] == '@');
      });
  if (!ours) return;
  if (record_)
    events::record({{"type", "container"}, {"action", e.action}, {"id", e.id.substr(0, 12)}, {"image", e.image}});
  events_.push_back(std::move(e));
}

ContainerWatch::~ContainerWatch() { stop(); }

void ContainerWatch::add_repository(const std::string& repository) {
  std::lock_guard lock(mutex_);
  repositories_.push_back(repository);
}

void ContainerWatch::stop() {
  stopping_ = true;
  if (stream_) stream_->stop();
  // Ending the subscription at once (its output ends, the reader returns)
  // rather than at the runner's next look: recording must cost ~nothing.
  if (int pgid = pgid_.load(); pgid > 0) ::kill(-pgid, SIGTERM);
  if (thread_.joinable()) thread_.join();
}

std::vector<ContainerEvent> ContainerWatch::created(std::chrono::milliseconds drain) {
  std::this_thread::sleep_for(drain);
  stop();
  std::lock_guard lock(mutex_);
  std::vector<ContainerEvent> out;
  for (const auto& e : events_) {
    if (e.action == "create") out.push_back(e);
  }
  return out;
}

ContainerReport ContainerWatch::finish() {
  // The engine reports a removal a moment after `docker rm` returns: wait
  // (briefly, and only if needed) until every container seen is destroyed.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mutex_);
      std::set<std::string> open;
      for (const auto& e : events_) {
        if (e.action == "create") open.insert(e.id);
        if (e.action == "destroy") open.erase(e.id);
      }
      if (open.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  std::lock_guard lock(mutex_);
  // When each service became ready: suite/services.cpp records it in the
  // run's event log, with the wall clock docker's events use.
  std::vector<ContainerEvent> all = events_;
  for (const auto& e : events::snapshot()) {
    if (e.value("type", "") == "service" && e.value("action", "") == "ready" && e.contains("time_nano")) {
      all.push_back({e.value("id", ""), "ready", "", e["time_nano"].get<long long>(), true});
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.time_nano < b.time_nano; });
  return summarize(all);
}

}  // namespace gate::engine

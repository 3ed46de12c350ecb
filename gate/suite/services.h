#pragma once
// Service containers a consumer's tests talk to (the candidate by default),
// started before the tests with published ports and a readiness check, and
// removed afterwards, also on failure.
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/engine.h"
#include "process/runner.h"
#include "report/model.h"

namespace gate::suite {

class Services {
 public:
  explicit Services(const engine::Engine& engine) : engine_(engine) {}
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;
  ~Services();  // stops whatever is still running

  // Starts every service and waits until each is ready; adds
  // SERVICE_<NAME>_HOST, _PORT (first port) and _PORT_<container port> to
  // `values` (placeholders) and `env`. Throws InfraError naming the service
  // (with the end of its log) when one cannot start or is not ready in time.
  void start(const config::Consumer& consumer, config::Values& values, process::Environment& env,
             const std::string& run_label);
  void stop_all();
  // Every service started after this gets DIR mounted at the same path and
  // ENV=DIR in its environment (coverage counters).
  void share_directory(const std::string& dir, const std::string& env) { shared_.push_back({dir, env}); }
  const std::vector<std::string>& containers() const { return containers_; }
  // Every service started, with the image it ran from (kept after stop_all).
  const std::vector<report::ServiceRun>& runs() const { return runs_; }

 private:
  const engine::Engine& engine_;
  std::vector<std::string> containers_;
  std::vector<report::ServiceRun> runs_;
  std::vector<std::pair<std::string, std::string>> shared_;  // directory, variable
};

}  // namespace gate::suite

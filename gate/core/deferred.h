#pragma once
// Deferred: work that must be done before the command ends, but need not be
// done before the verdict is used. The timing store's update is such work:
// deferred, the requests that end a run (the verification record) start
// first and the update goes on while they wait on the registry.
// Thread-safe: consumers that run at once add to it.
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace gate::core {

class Deferred {
 public:
  // `what` names the work in the warning should it fail.
  void add(std::string what, std::function<void()> work);
  // Runs what was added, in order, each once. What is deferred is never part
  // of the verdict: an error is logged as a warning, not thrown.
  void run();

 private:
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::function<void()>>> work_;
};

}  // namespace gate::core

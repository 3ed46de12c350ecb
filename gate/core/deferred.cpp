#include "core/deferred.h"

#include <exception>
#include <string>

#include "core/log.h"

namespace gate::core {

void Deferred::add(std::string what, std::function<void()> work) {
  std::lock_guard lock(mutex_);
  work_.emplace_back(std::move(what), std::move(work));
}

void Deferred::run() {
  std::vector<std::pair<std::string, std::function<void()>>> work;
  {
    std::lock_guard lock(mutex_);
    work.swap(work_);
  }
  for (auto& [what, w] : work) {
    try {
      w();
    } catch (const std::exception& e) {
      log::warn(what + ": " + e.what() + " (the verdict stands)");
    }
  }
}

}  // namespace gate::core

#include "core/deferred.h"

#include <exception>
#include <string>

#include "core/log.h"

namespace gate::core {

void Deferred::add(std::function<void()> work) {
  std::lock_guard lock(mutex_);
  work_.push_back(std::move(work));
}

void Deferred::run() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(mutex_);
    work.swap(work_);
  }
  for (auto& w : work) {
    try {
      w();
    } catch (const std::exception& e) {
      log::warn(std::string("after the verdict: ") + e.what());
    }
  }
}

}  // namespace gate::core

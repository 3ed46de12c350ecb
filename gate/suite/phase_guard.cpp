#include "suite/phase_guard.h"

#include <algorithm>

#include "core/log.h"

namespace gate::suite {

PhaseGuard& PhaseGuard::instance() {
  static PhaseGuard guard;
  return guard;
}

void PhaseGuard::enter(bool alone, const engine::Engine* engine, const std::vector<std::string>& refs) {
  std::unique_lock lock(mutex_);
  // A phase waiting to run alone goes first: phases that began after it
  // would otherwise keep it waiting until every consumer had run.
  if (alone) ++waiting_alone_;
  changed_.wait(lock, [&] { return !alone_ && (alone ? running_ == 0 : waiting_alone_ == 0); });
  if (alone) --waiting_alone_;
  if (running_ == 0 && engine) before_ = engine->containers_from(refs);
  ++running_;
  alone_ = alone;
}

std::vector<std::string> PhaseGuard::leave(const engine::Engine* engine, const std::vector<std::string>& refs) {
  std::vector<std::string> removed;
  std::lock_guard lock(mutex_);
  // (Held while removing: a phase that began now would see its own new
  // containers taken.)
  if (running_ == 1 && engine) {
    for (const auto& id : engine->containers_from(refs)) {
      if (std::find(before_.begin(), before_.end(), id) == before_.end()) removed.push_back(id);
    }
    engine->remove_containers(removed);
  }
  --running_;
  alone_ = false;
  changed_.notify_all();
  return removed;
}

PhaseEntry::PhaseEntry(bool alone, const engine::Engine* engine, std::vector<std::string> refs)
    : entered_(true), engine_(engine), refs_(std::move(refs)) {
  PhaseGuard::instance().enter(alone, engine_, refs_);
}

PhaseEntry::~PhaseEntry() {
  try {
    leave();
  } catch (const std::exception& e) {
    log::warn(e.what());
  }
}

std::vector<std::string> PhaseEntry::leave() {
  if (!entered_) return {};
  entered_ = false;
  return PhaseGuard::instance().leave(engine_, refs_);
}

}  // namespace gate::suite

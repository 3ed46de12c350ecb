#include "suite/phase_guard.h"

#include "core/log.h"

namespace gate::suite {

PhaseGuard& PhaseGuard::instance() {
  static PhaseGuard guard;
  return guard;
}

std::string PhaseGuard::enter(bool alone, const engine::Engine* engine, const std::vector<std::string>& refs) {
  std::unique_lock lock(mutex_);
  // A phase waiting to run alone goes first: phases that began after it
  // would otherwise keep it waiting until every consumer had run.
  if (alone) ++waiting_alone_;
  changed_.wait(lock, [&] { return !alone_ && (alone ? running_ == 0 : waiting_alone_ == 0); });
  if (alone) --waiting_alone_;
  std::string ticket;
  try {
    if (engine) ticket = ledger_.enter(*engine, refs);
  } catch (...) {
    changed_.notify_all();
    throw;
  }
  ++running_;
  alone_ = alone;
  return ticket;
}

std::vector<std::string> PhaseGuard::leave(const engine::Engine* engine, const std::string& ticket) {
  std::lock_guard lock(mutex_);
  // Leaves the guard whatever the ledger says: a phase that could not
  // leave it must not keep this process's others waiting.
  struct Left {
    PhaseGuard& guard;
    ~Left() {
      --guard.running_;
      guard.alone_ = false;
      guard.changed_.notify_all();
    }
  } left{*this};
  if (!engine || ticket.empty()) return {};
  return ledger_.leave(*engine, ticket);
}

PhaseEntry::PhaseEntry(bool alone, const engine::Engine* engine, std::vector<std::string> refs)
    : entered_(true), engine_(engine) {
  ticket_ = PhaseGuard::instance().enter(alone, engine_, refs);
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
  return PhaseGuard::instance().leave(engine_, ticket_);
}

}  // namespace gate::suite

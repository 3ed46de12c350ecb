#pragma once
// Consumers run at once (`concurrency:`) share one container engine. What a
// phase of one may see and remove of the others':
//  - a phase that proves something by the containers created meanwhile (the
//    baseline's: the candidate took no part) or that holds fixed host ports
//    runs alone: no other phase runs beside it;
//  - containers from the images that a phase leaves are removed when the
//    last phase running on the engine ends, of this process or another
//    gate's (engine/phase_ledger.h): while another runs, a new container may
//    be its own (a service, or one its tests started).
// With one consumer at a time this is what each phase did on its own.
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/phase_ledger.h"

namespace gate::suite {

class PhaseGuard {
 public:
  // The process's one guard.
  static PhaseGuard& instance();

  // Waits until the phase may run (alone: until no other of this process
  // runs, and keeps others out), and records it in the engine's ledger.
  // `refs`: the images whose containers are the phases'. Returns its ticket.
  std::string enter(bool alone, const engine::Engine* engine, const std::vector<std::string>& refs);
  // Ends the phase: the last one running on the engine removes what the
  // phases left from the images since the first of them began (their IDs
  // are returned; none while another phase still runs).
  std::vector<std::string> leave(const engine::Engine* engine, const std::string& ticket);

 private:
  PhaseGuard() : ledger_(engine::PhaseLedger::default_dir()) {}
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t running_ = 0;
  bool alone_ = false;
  size_t waiting_alone_ = 0;
  engine::PhaseLedger ledger_;
};

// One phase's entry, left when it ends (or goes out of scope).
class PhaseEntry {
 public:
  PhaseEntry() = default;
  PhaseEntry(bool alone, const engine::Engine* engine, std::vector<std::string> refs);
  ~PhaseEntry();
  PhaseEntry(const PhaseEntry&) = delete;
  PhaseEntry& operator=(const PhaseEntry&) = delete;
  // The containers removed (see PhaseGuard::leave); once.
  std::vector<std::string> leave();

 private:
  bool entered_ = false;
  const engine::Engine* engine_ = nullptr;
  std::string ticket_;
};

}  // namespace gate::suite

#pragma once
// The phases running on one container engine, across every gate process
// that uses it: the jobs of a packed CI plan on one runner, a developer's
// dry run beside the CI's, the threads of `concurrency:`.
//
// A phase's consumer may start containers from the candidate or the
// published image itself and leave them behind; gate removes what is new
// from those images when the phase ends. While another phase runs anywhere
// on the engine, a new container may be that phase's own (its service, or a
// container its tests started and still talk to). So the removal waits for
// the last phase running on the engine, of any process, and takes what was
// not there when the first of them began. A gate killed with phases
// recorded no longer holds them: a phase still running removes what it left
// when it ends; with none running, the next gate forgets them.
//
// The record is a JSON file under a flock, in a folder every gate sharing
// the engine sees: $GATE_LEDGER_DIR, or one per engine (DOCKER_HOST) in the
// temporary folder. Gates that share an engine but not that folder (jobs in
// separate containers bound to one docker socket) must share a
// GATE_LEDGER_DIR, or run their phases one at a time.
#include <filesystem>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace gate::engine {

class PhaseLedger {
 public:
  explicit PhaseLedger(std::filesystem::path dir);
  // $GATE_LEDGER_DIR, or <tmp>/gate-ledger-<hash of DOCKER_HOST>.
  static std::filesystem::path default_dir();

  // Records a phase of this process whose containers come from `refs`, and
  // notes which containers of refs no running phase used yet exist now.
  // Returns the phase's ticket for leave(). InfraError when the ledger
  // cannot be written.
  std::string enter(const Engine& engine, const std::vector<std::string>& refs);
  // Ends the phase. When no other phase runs on the engine, removes the
  // containers of every image the phases used that were not there when the
  // first began, and returns their IDs; otherwise returns none.
  std::vector<std::string> leave(const Engine& engine, const std::string& ticket);

 private:
  std::filesystem::path dir_;
};

}  // namespace gate::engine

#pragma once
// One consumer run against one image: the unit gate runs once for the
// candidate and, when failures need comparing, once more for the published
// baseline. Everything through which the image enters the consumer's run is
// bound here, from the ImageBinding, and nowhere else: the GATE_* variables,
// the placeholders of env, setup and run, the services (started afresh from
// this image, readiness checked, removed at the end) and the coverage
// directory (the candidate's only). No runner can forget a part of it.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/container_watch.h"
#include "git/checkout.h"
#include "process/runner.h"
#include "report/model.h"
#include "suite/phase_guard.h"
#include "suite/run_context.h"
#include "suite/runner.h"
#include "suite/services.h"

namespace gate::suite {

class ImageRun {
 public:
  // `watch_containers`: subscribe to the engine's container events for the
  // whole phase, so finish() can say what the phase created (the baseline's
  // proof that the candidate did not take part).
  ImageRun(const config::Consumer& consumer, const ImageBinding& image, const RunContext& context,
           const git::Checkout& checkout, std::filesystem::path log_file, bool watch_containers);
  ~ImageRun();  // stops the services and removes the phase's containers if finish() was not called
  ImageRun(const ImageRun&) = delete;
  ImageRun& operator=(const ImageRun&) = delete;

  // Starts the services from this image; throws InfraError naming the one
  // that could not start or was not ready.
  void start_services();

  struct SetupOutcome {
    bool ok = true;
    bool interrupted = false;
    report::ConsumerStatus status = report::ConsumerStatus::passed;
    std::string reason;
    std::string output_tail;
    std::string cache;  // "hit", "stored" or ""
  };
  // The consumer's setup in this phase's worktree (restored from the setup
  // cache when the same commit and expanded commands made it before).
  SetupOutcome setup();

  // One command (setup step or `run`) with this phase's environment.
  process::Result run_command(const config::Command& command, const char* step);
  // What the suite runners need to start the tool in this phase.
  RunEnv run_env() const;

  // Stops the services, then lists the containers created during the phase
  // (with watch_containers) and removes those of the candidate's and the
  // baseline's images that the phase left (adding their IDs to `removed`).
  report::ImagePhase finish(std::vector<std::string>* removed);
  // Containers created during the phase (with watch_containers; finish() first).
  const std::vector<engine::ContainerEvent>& created() const { return created_; }

  const ImageBinding& image() const { return image_; }
  const std::filesystem::path& worktree() const { return worktree_; }
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }

 private:
  std::vector<std::string> argv_of(const config::Command& command) const;

  const config::Consumer& consumer_;
  ImageBinding image_;
  const RunContext& context_;
  std::filesystem::path worktree_;
  std::string commit_;
  std::filesystem::path log_file_;
  std::string where_;
  process::Environment env_;
  config::Values values_;  // the image's placeholders, then the services'
  std::optional<Services> services_;
  std::unique_ptr<engine::ContainerWatch> watch_;
  std::vector<engine::ContainerEvent> created_;
  std::vector<std::string> cleanup_refs_;  // both images' references
  std::unique_ptr<PhaseEntry> phase_;
  std::chrono::steady_clock::time_point deadline_;
  bool finished_ = false;
};

// Environment variables gate itself holds secrets in: never passed to a
// consumer's code.
bool is_gate_secret(const std::string& name);

}  // namespace gate::suite

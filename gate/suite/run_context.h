#pragma once
// What a consumer run is given: the images it is bound to, where its files
// go, and the outside world it runs in.
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/deferred.h"
#include "engine/engine.h"

namespace gate::suite {

// One image a consumer runs against, and every name through which it enters
// the run: the placeholders (CANDIDATE, CANDIDATE_REF, ...) expanded in env,
// setup, run and services, and exported as GATE_<NAME>.
struct ImageBinding {
  std::string role;    // "candidate" or "baseline"
  std::string digest;  // sha256:...
  config::Values placeholders;
  // References that name this image (repository@digest, repository:tag):
  // containers created from them are this image's.
  std::vector<std::string> refs;
};

// The shared durations a plan pinned for a consumer (pipeline/shared_timings.h):
// every shard splits from exactly these.
struct PinnedTimings {
  std::string digest;          // the artifact in the registry; "" the plan had none: split by no durations
  std::filesystem::path file;  // the shard's copy (suite::read_pinned_durations); "" with no digest
};

struct RunContext {
  ImageBinding candidate;
  // The published image failures are compared with (baseline: true); empty
  // when there is none, with the reason in `baseline_unavailable`.
  std::optional<ImageBinding> baseline;
  std::string baseline_unavailable;
  std::filesystem::path report_dir;  // absolute: children run elsewhere
  const engine::Engine* engine = nullptr;
  const config::Config* config = nullptr;  // for the top-level policy and limits
  int shard_index = 1;                     // this machine's shard, 1-based
  int shard_count = 0;                     // 0: the consumer's `shards`, all run here
  std::filesystem::path cache_dir;         // the timing store lives there
  // By consumer name: durations the plan pinned; without one the split is
  // priced from the local timing store.
  std::map<std::string, PinnedTimings> pinned_timings;
  // `gate bisect`: of the tests collected, run only these (by id); empty: all.
  std::set<std::string> only_tests;
  // Where a consumer's timing-store update goes, for the caller to run once
  // the verdict's first uses are under way; none: it is written at once.
  core::Deferred* after_verdict = nullptr;
  // Called each time a test tool's process has started (from any worker
  // thread): work that can wait for the tests goes then, off the path to
  // their start (the record's upload session). Empty: nothing to call.
  std::function<void()> on_tests_started;
};

}  // namespace gate::suite

#pragma once
// The candidate image and the consumers' checkouts: what run, test and
// bisect build, resolve and bind a consumer run to.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/engine.h"
#include "git/checkout.h"
#include "pipeline/session.h"
#include "registry/registry.h"
#include "report/model.h"
#include "suite/run_context.h"

namespace gate::pipeline {

// The label gate puts on every image it builds: the commit of the
// repository holding the build context. Its own name, not OCI's
// org.opencontainers.image.revision, which a Dockerfile may set itself.
inline constexpr std::string_view kRevisionLabel = "dev.gate.revision";

// GIT_SHA: the short commit of the repository holding the build context.
std::optional<std::string> git_sha_of(const config::Config& config);
// image.candidate_tag expanded (default pr-<GIT_SHA>); UsageError when not a valid tag.
std::string candidate_tag_of(const config::Config& config);
// Builds and pushes the candidate; its digest as the registry has it.
// `revision`: the commit it is built from, when the context is not the
// repository's own working tree (bisect); else the context's HEAD.
report::Candidate build_candidate(const config::Config& config, const engine::Engine& engine,
                                  registry::Registry& registry, const std::filesystem::path& report_dir,
                                  StageClock& clock, const std::string& revision = "");
// --candidate REF: an image already in the registry, in the configured
// repository. `seen`: its manifest's descriptor, as read.
report::Candidate resolve_candidate(const config::Config& config, registry::Registry& registry, const std::string& text,
                                    registry::Descriptor* seen = nullptr);
// The placeholders that name an image (CANDIDATE, CANDIDATE_REF, ...).
config::Values placeholders_of(const config::Config& config, const report::Candidate& candidate);

// The run's checkouts: their worktrees are released when the run ends,
// whatever happened (mirrors and trees stay in the cache for the next run).
struct Checkouts {
  std::vector<git::Checkout> list;
  Checkouts() = default;
  Checkouts(const Checkouts&) = delete;
  Checkouts& operator=(const Checkouts&) = delete;
  ~Checkouts() {
    for (auto& checkout : list) git::release_worktree(checkout);
  }
};

// Checks out every consumer of the config, in order.
void checkout_all(const config::Config& config, const std::filesystem::path& cache_dir, StageClock& clock,
                  Checkouts& checkouts);
// The image a consumer run is bound to, and every reference that names it.
suite::ImageBinding binding_of(const config::Config& config, const report::Candidate& image, const char* role);

}  // namespace gate::pipeline

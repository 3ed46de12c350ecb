#pragma once
// Test durations shared between CI jobs and runs through the image's own
// registry (the one place every gate job has credentials for), beside the
// local timing store (suite/timings.h), which keeps the evidence.
//
// Each consumer's durations are OCI artifacts in the image's repository,
// tagged "gate-timings-<consumer>-<ms since epoch>-<random>". A registry has
// no compare-and-swap on tags, so no write replaces another: every writer
// (the fan-in, or a plan that finds several) reads the live artifacts,
// merges them with what it adds and pushes a new one under a new tag that
// says what it subsumes: every tag written before its watermark (its list
// time minus kSubsumeMargin) and the newer ones it read by name. Readers
// merge every artifact that no other live one subsumes, so two writers at
// once each leave one that the next reader merges: nothing is lost. What is
// subsumed is deleted a day later, best effort (it is skipped when kept).
//
// Only durations are shared: they decide how tests are split, never a
// verdict. Flaky history and the last passing run stay in the local store,
// whose MAC only this machine can check.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "registry/registry.h"
#include "suite/run_context.h"

namespace gate::pipeline {

inline constexpr const char* kTimingsArtifactType = "application/vnd.gate.timings.v1+json";
// Longer than any registry operation's deadline (one manifest PUT stands
// between a writer taking its time stamp and its tag being listed) plus the
// clock skew tolerated between CI runners.
inline constexpr std::chrono::minutes kSubsumeMargin{10};

// A subsumed artifact is deleted only once older than this: a plan may
// have pinned it for shard jobs still waiting for a runner.
inline constexpr std::chrono::hours kKeepPinned{24};

using Durations = std::map<std::string, double>;  // test id -> seconds

// A tag of the consumer's durations, parsed: its time stamp (ms since epoch).
struct TimingsTag {
  std::string tag;
  long long written_ms = 0;
};

std::string timings_tag_prefix(const std::string& consumer);
std::optional<TimingsTag> parse_timings_tag(const std::string& consumer, const std::string& tag);

// What a live artifact says of the others.
struct Subsumes {
  long long watermark_ms = 0;      // every tag written at or before this
  std::vector<std::string> named;  // and these
  bool covers(const TimingsTag& other) const;
};

// The live set from a tag listing: newest first, each artifact read
// (`subsumes_of`, one manifest GET) unless one already read subsumes it.
// Pure apart from `subsumes_of`, so it is tested on its own.
std::vector<TimingsTag> live_timings(const std::string& consumer, const std::vector<std::string>& tags,
                                     const std::function<std::optional<Subsumes>(const TimingsTag&)>& subsumes_of);

struct SharedTimings {
  std::string digest;  // the artifact pinned; "" none (the consumer has no shared durations yet)
  Durations seconds;
};

// The plan's pin: the one live artifact, or, when there are several, a new
// one that merges them. Nothing is written when there is none or one.
SharedTimings pin_timings(registry::Registry& registry, const std::string& repository, const std::string& consumer);
// Exactly the artifact `digest` (a shard reads what its plan pinned); an
// artifact that is not this consumer's durations is an InfraError.
Durations read_timings(registry::Registry& registry, const std::string& repository, const std::string& consumer,
                       const std::string& digest);
// A shard's copy of the pinned durations, in the cache (kept by digest: a
// second shard job on this machine reads it again for nothing).
suite::PinnedTimings fetch_pinned(registry::Registry& registry, const std::string& repository,
                                  const std::string& consumer, const std::string& digest,
                                  const std::filesystem::path& cache_dir);
// The pins a plan wrote (`gate plan --out FILE`, read by read_plan_file),
// overridden by --timings CONSUMER=DIGEST, by consumer; "" pins nothing.
std::map<std::string, std::string> pins_of(const std::map<std::string, std::string>& planned,
                                           const std::vector<std::string>& flags);
// The fan-in's write: the live durations merged with `update` (newer wins);
// returns the new artifact's digest.
std::string share_timings(registry::Registry& registry, const std::string& repository, const std::string& consumer,
                          const Durations& update);

}  // namespace gate::pipeline

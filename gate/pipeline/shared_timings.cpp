#include "pipeline/shared_timings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "core/log.h"
#include "registry/digest.h"
#include "registry/manifest.h"
#include "registry/reference.h"
#include "suite/timings.h"

namespace gate::pipeline {
namespace {

constexpr const char* kEmptyConfig = "application/vnd.oci.empty.v1+json";
constexpr const char* kConsumerKey = "dev.gate.timings.consumer";
constexpr const char* kTagKey = "dev.gate.timings.tag";  // makes every artifact's bytes its own
constexpr const char* kWatermarkKey = "dev.gate.timings.watermark";
constexpr const char* kSubsumesKey = "dev.gate.timings.subsumes";
constexpr size_t kStampDigits = 13;  // ms since epoch, until the year 2286
constexpr size_t kRandomDigits = 8;

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_hex() {
  std::random_device random;
  return fmt::format("{:08x}", static_cast<uint32_t>(random()));
}

// A consumer's name as a tag may hold it ([A-Za-z0-9_.-], at most 128 in
// all); a name that had to change gets a hash of itself, so two never meet.
std::string tag_name_of(const std::string& consumer) {
  std::string out;
  bool changed = false;
  for (char c : consumer) {
    bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    out += keep ? c : '_';
    changed = changed || !keep;
  }
  if (out.size() > 60) {
    out.resize(60);
    changed = true;
  }
  if (changed) out += "_" + registry::sha256_digest(consumer).substr(7, 8);
  return out;
}

// One live artifact as read: its digest, what it subsumes, its layer.
struct Artifact {
  std::string digest;
  std::string layer;
  Subsumes subsumes;
};

std::optional<Artifact> read_artifact(registry::Registry& registry, const std::string& repository,
                                      const std::string& consumer, const std::string& reference) {
  auto manifest = registry.get_manifest(repository, reference);
  if (!manifest) return std::nullopt;  // deleted since the listing
  auto body = nlohmann::json::parse(manifest->body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || body.value("artifactType", "") != kTimingsArtifactType) {
    return std::nullopt;
  }
  const auto annotations = body.value("annotations", nlohmann::json::object());
  if (!annotations.is_object() || annotations.value(kConsumerKey, "") != consumer) return std::nullopt;
  const auto layers = body.value("layers", nlohmann::json::array());
  if (!layers.is_array() || layers.size() != 1 || !layers[0].is_object()) return std::nullopt;
  Artifact artifact;
  artifact.digest = manifest->digest;
  artifact.layer = layers[0].value("digest", "");
  try {
    artifact.subsumes.watermark_ms = std::stoll(annotations.value(kWatermarkKey, "0"));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string named = annotations.value(kSubsumesKey, "");
  for (size_t start = 0; start < named.size();) {
    size_t comma = std::min(named.find(',', start), named.size());
    if (comma > start) artifact.subsumes.named.push_back(named.substr(start, comma - start));
    start = comma + 1;
  }
  return artifact;
}

Durations read_durations(registry::Registry& registry, const std::string& repository, const std::string& consumer,
                         const Artifact& artifact) {
  auto blob = registry.get_blob(repository, artifact.layer);
  if (!blob)
    throw InfraError(fmt::format("timings of {}: {} has no layer {}", consumer, artifact.digest, artifact.layer));
  auto doc = nlohmann::json::parse(*blob, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("consumer", "") != consumer || !doc.contains("seconds") ||
      !doc["seconds"].is_object()) {
    throw InfraError(
        fmt::format("timings of {}: {} is not gate's durations of this consumer", consumer, artifact.digest));
  }
  Durations out;
  for (const auto& [test, seconds] : doc["seconds"].items()) {
    if (seconds.is_number() && seconds.get<double>() >= 0) out[test] = seconds.get<double>();
  }
  return out;
}

// What a reader finds: the tags of the consumer it listed, and the live ones read.
struct Listing {
  long long listed_ms = 0;
  std::vector<TimingsTag> tags;  // every tag of the consumer in the listing
  std::vector<TimingsTag> live;  // newest first
  std::map<std::string, Artifact> artifacts;
};

Listing list_live(registry::Registry& registry, const std::string& repository, const std::string& consumer) {
  Listing listing;
  listing.listed_ms = now_ms();
  const auto tags = registry.list_tags(repository);
  for (const auto& tag : tags) {
    if (auto parsed = parse_timings_tag(consumer, tag)) listing.tags.push_back(*parsed);
  }
  listing.live = live_timings(consumer, tags, [&](const TimingsTag& t) -> std::optional<Subsumes> {
    auto artifact = read_artifact(registry, repository, consumer, t.tag);
    if (!artifact) return std::nullopt;
    auto subsumes = artifact->subsumes;
    listing.artifacts.emplace(t.tag, std::move(*artifact));
    return subsumes;
  });
  return listing;
}

// The live artifacts' durations, oldest first so that newer ones win.
Durations merge_live(registry::Registry& registry, const std::string& repository, const std::string& consumer,
                     const Listing& listing) {
  Durations merged;
  for (auto it = listing.live.rbegin(); it != listing.live.rend(); ++it) {
    for (auto& [test, seconds] : read_durations(registry, repository, consumer, listing.artifacts.at(it->tag))) {
      merged[test] = seconds;
    }
  }
  return merged;
}

// Pushes `seconds` as a new artifact subsuming everything the listing saw;
// returns its digest and what it subsumes.
std::pair<std::string, Subsumes> write_timings(registry::Registry& registry, const std::string& repository,
                                               const std::string& consumer, const Durations& seconds,
                                               const Listing& listing) {
  Subsumes subsumes;
  subsumes.watermark_ms =
      listing.listed_ms - std::chrono::duration_cast<std::chrono::milliseconds>(kSubsumeMargin).count();
  for (const auto& t : listing.tags) {
    if (t.written_ms > subsumes.watermark_ms) subsumes.named.push_back(t.tag);
  }
  nlohmann::json doc = {{"schema", "gate.timings/v1"}, {"consumer", consumer}, {"seconds", seconds}};
  const std::string bytes = doc.dump();
  const std::string layer = registry.push_blob(repository, bytes);
  const std::string config_digest = registry.push_blob(repository, "{}");
  // The time stamp is taken after the blobs: one PUT stands between it and the listing.
  const std::string tag =
      fmt::format("{}{:0{}d}-{}", timings_tag_prefix(consumer), now_ms(), kStampDigits, random_hex());
  std::string named;
  for (const auto& n : subsumes.named) named += (named.empty() ? "" : ",") + n;
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", registry::kOciManifest},
      {"artifactType", kTimingsArtifactType},
      {"config", {{"mediaType", kEmptyConfig}, {"digest", config_digest}, {"size", 2}}},
      {"layers", {{{"mediaType", kTimingsArtifactType}, {"digest", layer}, {"size", bytes.size()}}}},
      {"annotations",
       {{kConsumerKey, consumer},
        {kTagKey, tag},
        {kWatermarkKey, std::to_string(subsumes.watermark_ms)},
        {kSubsumesKey, named}}}};
  registry::Manifest artifact;
  artifact.media_type = registry::kOciManifest;
  artifact.body = manifest.dump();
  artifact.digest = registry::sha256_digest(artifact.body);
  std::string stored = registry.put_manifest(repository, tag, artifact);
  if (!stored.empty() && stored != artifact.digest)
    throw InfraError(fmt::format("timings of {}: the registry stored {} as '{}'", consumer, tag, stored));
  log::info(fmt::format("{}: {} test duration(s) shared as {} ({})", consumer, seconds.size(), tag, artifact.digest));
  return {artifact.digest, subsumes};
}

// Best effort: what the new artifact subsumes goes once it is older than
// kKeepPinned (a plan may have pinned it for shards still queued), so that
// listings stay short. Kept where the registry does not allow deletes.
void delete_subsumed(registry::Registry& registry, const std::string& repository, const Listing& listing,
                     const Subsumes& subsumes) {
  const long long keep_after =
      listing.listed_ms - std::chrono::duration_cast<std::chrono::milliseconds>(kKeepPinned).count();
  try {
    for (const auto& t : listing.tags) {
      if (!subsumes.covers(t) || t.written_ms >= keep_after) continue;
      auto digest = registry.head_manifest(repository, t.tag);
      if (digest && !registry.delete_manifest(repository, *digest)) return;
    }
  } catch (const InfraError& e) {
    log::warn(
        fmt::format("could not delete subsumed timing artifacts (kept; they cost listing time only): {}", e.what()));
  }
}

}  // namespace

std::string timings_tag_prefix(const std::string& consumer) { return "gate-timings-" + tag_name_of(consumer) + "-"; }

std::optional<TimingsTag> parse_timings_tag(const std::string& consumer, const std::string& tag) {
  const std::string prefix = timings_tag_prefix(consumer);
  if (tag.size() != prefix.size() + kStampDigits + 1 + kRandomDigits || tag.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  const std::string stamp = tag.substr(prefix.size(), kStampDigits);
  const std::string random = tag.substr(prefix.size() + kStampDigits + 1);
  if (tag[prefix.size() + kStampDigits] != '-' ||
      !std::all_of(stamp.begin(), stamp.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      !std::all_of(random.begin(), random.end(), [](unsigned char c) { return std::isxdigit(c); })) {
    return std::nullopt;
  }
  return TimingsTag{tag, std::stoll(stamp)};
}

bool Subsumes::covers(const TimingsTag& other) const {
  return other.written_ms <= watermark_ms || std::find(named.begin(), named.end(), other.tag) != named.end();
}

std::vector<TimingsTag> live_timings(const std::string& consumer, const std::vector<std::string>& tags,
                                     const std::function<std::optional<Subsumes>(const TimingsTag&)>& subsumes_of) {
  std::vector<TimingsTag> ours;
  for (const auto& tag : tags) {
    if (auto parsed = parse_timings_tag(consumer, tag)) ours.push_back(*parsed);
  }
  std::sort(ours.begin(), ours.end(), [](const TimingsTag& a, const TimingsTag& b) {
    return a.written_ms != b.written_ms ? a.written_ms > b.written_ms : a.tag > b.tag;
  });
  std::vector<TimingsTag> live;
  std::vector<Subsumes> read;
  for (const auto& t : ours) {
    if (std::any_of(read.begin(), read.end(), [&](const Subsumes& s) { return s.covers(t); })) continue;
    auto subsumes = subsumes_of(t);
    if (!subsumes) continue;  // gone since the listing, or not gate's
    live.push_back(t);
    read.push_back(std::move(*subsumes));
  }
  return live;
}

SharedTimings pin_timings(registry::Registry& registry, const std::string& repository, const std::string& consumer) {
  Listing listing = list_live(registry, repository, consumer);
  if (listing.live.empty()) return {};
  SharedTimings pinned;
  pinned.seconds = merge_live(registry, repository, consumer, listing);
  if (listing.live.size() == 1) {
    pinned.digest = listing.artifacts.at(listing.live.front().tag).digest;
    return pinned;
  }
  auto [digest, subsumes] = write_timings(registry, repository, consumer, pinned.seconds, listing);
  delete_subsumed(registry, repository, listing, subsumes);
  pinned.digest = digest;
  return pinned;
}

Durations read_timings(registry::Registry& registry, const std::string& repository, const std::string& consumer,
                       const std::string& digest) {
  auto artifact = read_artifact(registry, repository, consumer, digest);
  if (!artifact) {
    throw InfraError(
        fmt::format("timings of {}: {} (pinned by the plan) is not in {} as this consumer's durations "
                    "(deleted after {}h? re-run the whole pipeline, plan included)",
                    consumer, digest, repository, kKeepPinned.count()));
  }
  return read_durations(registry, repository, consumer, *artifact);
}

suite::PinnedTimings fetch_pinned(registry::Registry& registry, const std::string& repository,
                                  const std::string& consumer, const std::string& digest,
                                  const std::filesystem::path& cache_dir) {
  if (!registry::is_valid_digest(digest)) {
    throw UsageError(fmt::format("timings of {}: '{}' is not a digest (sha256:...)", consumer, digest));
  }
  suite::PinnedTimings pin;
  pin.digest = digest;
  pin.file = cache_dir / "timings" / "pinned" / (tag_name_of(consumer) + "-" + digest.substr(7) + ".json");
  if (std::filesystem::exists(pin.file)) return pin;
  auto seconds = read_timings(registry, repository, consumer, digest);
  suite::write_pinned_durations(pin.file, seconds);
  log::info(fmt::format("{}: planned from {} shared test duration(s) ({})", consumer, seconds.size(), digest));
  return pin;
}

std::map<std::string, std::string> pins_of(const std::map<std::string, std::string>& planned,
                                           const std::vector<std::string>& flags) {
  std::map<std::string, std::string> pins = planned;
  for (const auto& flag : flags) {
    auto eq = flag.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError(fmt::format("--timings '{}': expected CONSUMER=DIGEST (or CONSUMER= for none)", flag));
    }
    pins[flag.substr(0, eq)] = flag.substr(eq + 1);
  }
  return pins;
}

std::string share_timings(registry::Registry& registry, const std::string& repository, const std::string& consumer,
                          const Durations& update) {
  Listing listing = list_live(registry, repository, consumer);
  Durations merged = merge_live(registry, repository, consumer, listing);
  for (const auto& [test, seconds] : update) merged[test] = seconds;
  auto [digest, subsumes] = write_timings(registry, repository, consumer, merged, listing);
  delete_subsumed(registry, repository, listing, subsumes);
  return digest;
}

}  // namespace gate::pipeline

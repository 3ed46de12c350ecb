#include "pipeline/verdict_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "pipeline/versions.h"
#include "registry/reference.h"
#include "report/verdict_json.h"

namespace gate::pipeline {
namespace {

[[noreturn]] void refuse(const std::filesystem::path& file, const std::string& why) {
  throw Error(ExitCode::blocked, fmt::format("publish refused: verdict {} {}", file.string(), why));
}

// Every consumer of the config present once, passed, and whole (a shard
// alone is not the consumer's verification: `gate merge` makes it whole).
void check_consumers(const std::filesystem::path& file, const report::Verdict& v, const config::Config& config) {
  if (v.consumers.empty()) refuse(file, "tested no consumer");
  std::set<std::string> wanted;
  for (const auto& c : config.consumers) wanted.insert(c.name);
  std::set<std::string> seen;
  for (const auto& c : v.consumers) {
    if (!wanted.count(c.name))
      refuse(file, fmt::format("names consumer '{}', which this config does not have", c.name));
    if (!seen.insert(c.name).second) refuse(file, fmt::format("names consumer '{}' twice", c.name));
    if (!c.passed())
      refuse(file, fmt::format("did not pass: consumer '{}' {}", c.name, report::consumer_status_name(c.status)));
    if (c.shard.find('/') != std::string::npos && c.shard != "1/1") {
      refuse(file,
             fmt::format("holds only shard {} of consumer '{}': publish the verdict of `gate merge`", c.shard, c.name));
    }
  }
  for (const auto& name : wanted) {
    if (!seen.count(name)) refuse(file, fmt::format("did not test consumer '{}' of this config", name));
  }
}

// The config with the consumer versions the verdict tested: a consumer
// configured with versions must have had them resolved, and its `refs` all
// tested.
config::Config with_versions(const std::filesystem::path& file, const report::Verdict& v,
                             const config::Config& config) {
  for (const auto& c : config.consumers) {
    if (c.releases == 0 && c.refs.empty()) continue;
    auto it = v.versions.find(c.name);
    if (it == v.versions.end())
      refuse(file, fmt::format("did not test the versions of consumer '{}' (releases, refs)", c.name));
    for (const auto& ref : c.refs) {
      if (std::find(it->second.begin(), it->second.end(), ref) == it->second.end())
        refuse(file, fmt::format("did not test consumer '{}' at {} (its refs)", c.name, ref));
    }
  }
  config::Config expanded = config;
  try {
    add_versions(expanded, v.versions, file.string());
  } catch (const UsageError& e) {
    refuse(file, e.what());
  }
  return expanded;
}

}  // namespace

VerdictClaim read_verdict(const std::filesystem::path& file, const config::Config& config) {
  report::Verdict v;
  try {
    v = report::read_verdict_file(file);
  } catch (const report::MalformedJson& e) {
    throw UsageError(fmt::format("verdict {}: not a usable gate verdict: {}", file.string(), e.what()));
  }
  if (v.exit_code != ExitCode::passed)
    refuse(file, fmt::format("did not pass (exit code {})", static_cast<int>(v.exit_code)));
  if (v.dry_run && v.command == "run") refuse(file, "is of a dry run (`gate run --dry-run`)");
  if (v.skipped) refuse(file, "tested nothing (the run was skipped)");
  if (!registry::is_valid_digest(v.candidate.digest)) refuse(file, "names no tested digest");
  if (v.candidate.repository != config.image.repository) {
    refuse(file, fmt::format("is for {}, not this config's {}", v.candidate.repository, config.image.repository));
  }
  check_consumers(file, v, with_versions(file, v, config));
  return VerdictClaim{v.candidate.digest, v.tags_seen};
}

}  // namespace gate::pipeline

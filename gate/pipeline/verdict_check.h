#pragma once
// What `gate publish --verdict` may publish. A verdict.json is a file anyone
// can edit, so the whole of it is checked, not its exit code alone:
//   exit 2 (UsageError)  not JSON, not an object, not a gate verdict, or a
//                        field of the wrong type: the reason names it;
//   exit 1 (refused)     a verdict that does not show a complete green run
//                        of this config: a failed or missing consumer, a
//                        consumer the config does not have, one shard of a
//                        split consumer, a dry run, a skipped run, a decision
//                        that is not "passed", another repository.
#include <filesystem>
#include <map>
#include <string>

#include "config/config.h"

namespace gate::pipeline {

struct VerdictClaim {
  std::string digest;
  // Where each publish tag pointed when the verdict was made.
  std::map<std::string, std::string> tags_seen;
};

VerdictClaim read_verdict(const std::filesystem::path& file, const config::Config& config);

}  // namespace gate::pipeline

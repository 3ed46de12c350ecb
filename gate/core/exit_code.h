#pragma once
// The exit-code contract shared by the CLI, the verdict JSON and the workflows.
#include <string_view>

namespace gate {

enum class ExitCode : int {
  passed = 0,          // passed (and published, unless dry run)
  blocked = 1,         // a consumer test regressed
  usage = 2,           // usage or configuration error
  infrastructure = 3,  // build, registry, git or engine failed
  interrupted = 130,   // SIGINT / SIGTERM
};

constexpr std::string_view exit_code_name(ExitCode code) {
  switch (code) {
    case ExitCode::passed: return "passed";
    case ExitCode::blocked: return "blocked";
    case ExitCode::usage: return "usage";
    case ExitCode::infrastructure: return "infrastructure";
    case ExitCode::interrupted: return "interrupted";
  }
  return "unknown";
}

}  // namespace gate

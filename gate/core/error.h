#pragma once
// Errors carry the exit code they mean; the CLI catches them once, at the top.
#include <stdexcept>
#include <string>

#include "core/exit_code.h"

namespace gate {

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Bad command line or configuration: exit 2, before anything is built or published.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(ExitCode::usage, message) {}
};

// The engine, registry, git or a build failed: exit 3.
class InfraError : public Error {
 public:
  explicit InfraError(const std::string& message) : Error(ExitCode::infrastructure, message) {}
};

// SIGINT or SIGTERM arrived: children are already killed when this is thrown.
class Interrupted : public Error {
 public:
  Interrupted() : Error(ExitCode::interrupted, "interrupted") {}
};

}  // namespace gate

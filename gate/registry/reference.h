#pragma once
// Image references by the distribution grammar:
//   [registry[:port]/]path[/path...][:tag][@algorithm:hex]
// A first component with a '.' or ':' (or "localhost") is a registry host;
// otherwise the registry is docker.io and a one-component path gets "library/".
#include <optional>
#include <string>
#include <string_view>

namespace gate::registry {

struct Reference {
  std::string registry;    // "127.0.0.1:5000", "docker.io"
  std::string repository;  // "acme/emulator"
  std::string tag;         // may be empty
  std::string digest;      // "sha256:..." or empty

  // "registry/repository", the name docker uses for the repository.
  std::string name() const;
  // "registry/repository:tag" / "@digest" / both, whichever are set.
  std::string str() const;
};

// Throws UsageError naming the text and what is wrong with it.
Reference parse_reference(std::string_view text);

// Why `text` is not a valid reference, or nullopt.
std::optional<std::string> reference_problem(std::string_view text);

bool is_valid_tag(std::string_view tag);
bool is_valid_digest(std::string_view digest);

// Registries on a loopback address are reached over plain HTTP.
bool is_loopback_registry(std::string_view registry);

}  // namespace gate::registry

#pragma once
// A manifest as the registry serves it: kept byte-exact, since a digest is
// the sha256 of the exact bytes.
#include <string>

namespace gate::registry {

struct Manifest {
  std::string media_type;
  std::string body;    // exact bytes as served
  std::string digest;  // sha256 of body, checked against Docker-Content-Digest
};

}  // namespace gate::registry

#pragma once
#include <string>
#include <string_view>

namespace gate::registry {

// "sha256:<hex>" of the bytes, as the registry names content.
std::string sha256_digest(std::string_view bytes);

}  // namespace gate::registry

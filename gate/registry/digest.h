#pragma once
#include <cstdio>
#include <string>
#include <string_view>

namespace gate::registry {

// Does the one-time set-up of sha256 now (see registry/warmup.h).
void prepare_sha256();
// "sha256:<hex>" of the bytes, as the registry names content.
std::string sha256_digest(std::string_view bytes);
// The same of a file's contents from its current position to the end.
std::string sha256_file(std::FILE* file);
// HMAC-SHA256 of the bytes under the key, as lowercase hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view bytes);

}  // namespace gate::registry

#pragma once
// Encodings of bytes as text: base64 (registry Basic auth, docker's
// config.json) and percent-encoding (URLs). Also used to recognise a secret
// in its encoded forms before it is written anywhere.
#include <string>
#include <string_view>

namespace gate::core {

std::string base64_encode(std::string_view data);
// Accepts the standard and the URL-safe alphabet; skips padding and whitespace.
std::string base64_decode(std::string_view data);
// RFC 3986: everything but unreserved characters as %XX.
std::string percent_encode(std::string_view data);
// The inverse; a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text);

}  // namespace gate::core

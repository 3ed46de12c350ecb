#pragma once
// Messages to the terminal. Everything gate says goes to stderr prefixed with
// "gate:"; stdout is kept for machine-readable answers (build, checkout).
// Every line passes through redact() so registered secrets never print.
#include <fmt/format.h>

#include <string>
#include <string_view>

namespace gate::log {

void info(std::string_view message);
void warn(std::string_view message);
void error(std::string_view message);
// A line of a child's output, prefixed with the consumer or stage name.
void child_line(std::string_view prefix, std::string_view line);

// Secrets (registry passwords, tokens) registered here are replaced by
// "[redacted]" in every line printed or written to a report or log, in clear
// and in their percent-encoded and base64 forms.
void add_secret(std::string secret);
std::string redact(std::string_view text);
// The length of the longest form registered: a stream redacted in pieces
// keeps this many bytes back so no secret is cut in two.
size_t longest_secret();

void set_quiet(bool quiet);

}  // namespace gate::log

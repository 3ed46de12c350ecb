#pragma once
// Durations as written in gate.yaml: "90s", "15m", "1h30m", "500ms".
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace gate {

// nullopt when the text is not a duration; a bare number is rejected on
// purpose ("15" could mean seconds or minutes).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace gate

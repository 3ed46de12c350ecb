#pragma once
// A bound on how deep gate.yaml nests, checked on the text before yaml-cpp
// reads it: yaml-cpp refuses very deep documents too, but names the end of
// the file. Real configs nest about 6 levels; the limit is far above that.
#include <optional>
#include <string_view>

#include "config/placeholders.h"

namespace gate::config {

inline constexpr size_t kMaxYamlDepth = 64;

// Where the text first nests deeper than `limit` collections (flow brackets,
// block indentation, "- " entries), if it does. Quoted strings, comments and
// block scalars (| and >) do not count.
std::optional<SourceMark> too_deep(std::string_view text, size_t limit = kMaxYamlDepth);

}  // namespace gate::config

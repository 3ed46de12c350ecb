#pragma once
// Path globs as in `paths:`: "*" and "?" stay within one path segment,
// "**" spans any number of segments (including none), "[abc]" a character set.
#include <string_view>

namespace gate {

bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace gate

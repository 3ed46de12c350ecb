#include "core/glob.h"

namespace gate {
namespace {

bool match_from(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    if (p.substr(0, 2) == "**") {
      std::string_view rest = p.substr(2);
      // "**/" may also match nothing at all ("src/**/x" matches "src/x").
      if (!rest.empty() && rest.front() == '/') {
        if (match_from(rest.substr(1), s)) return true;
      }
      for (size_t i = 0; i <= s.size(); ++i) {
        if (match_from(rest, s.substr(i))) return true;
      }
      return false;
    }
    if (p.front() == '*') {
      std::string_view rest = p.substr(1);
      for (size_t i = 0; i <= s.size(); ++i) {
        if (match_from(rest, s.substr(i))) return true;
        if (i < s.size() && s[i] == '/') break;  // "*" never crosses a segment
      }
      return false;
    }
    if (s.empty()) return false;
    if (p.front() == '?') {
      if (s.front() == '/') return false;
    } else if (p.front() == '[') {
      size_t close = p.find(']', 1);
      if (close == std::string_view::npos) {
        if (s.front() != '[') return false;
      } else {
        std::string_view set = p.substr(1, close - 1);
        bool negate = !set.empty() && (set.front() == '!' || set.front() == '^');
        if (negate) set.remove_prefix(1);
        bool found = false;
        for (size_t i = 0; i < set.size(); ++i) {
          if (i + 2 < set.size() && set[i + 1] == '-') {
            if (s.front() >= set[i] && s.front() <= set[i + 2]) found = true;
            i += 2;
          } else if (set[i] == s.front()) {
            found = true;
          }
        }
        if (found == negate || s.front() == '/') return false;
        p.remove_prefix(close + 1);
        s.remove_prefix(1);
        continue;
      }
    } else if (p.front() != s.front()) {
      return false;
    }
    p.remove_prefix(1);
    s.remove_prefix(1);
  }
  return s.empty();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) { return match_from(pattern, path); }

}  // namespace gate

#include "config/yaml_depth.h"

#include <algorithm>
#include <vector>

namespace gate::config {
namespace {

// One line of the document, read with the state that crosses lines.
class DepthScanner {
 public:
  explicit DepthScanner(size_t limit) : limit_(limit) {}

  std::optional<SourceMark> line(std::string_view text, int number) {
    size_t indent = text.find_first_not_of(' ');
    if (block_scalar_ && (indent == std::string_view::npos || indent > block_indent_)) return std::nullopt;
    block_scalar_ = false;
    if (indent == std::string_view::npos) return std::nullopt;
    size_t i = indent;
    if (flow_ == 0 && quote_ == 0) {
      if (text[i] == '#') return std::nullopt;
      while (!indents_.empty() && indents_.back() > indent) indents_.pop_back();
      if (indents_.empty() || indents_.back() < indent) indents_.push_back(indent);
      // "- - x": each dash opens a sequence, indented at its own column.
      while (i < text.size() && text[i] == '-' && (i + 1 == text.size() || text[i + 1] == ' ')) {
        indents_.push_back(i + 1);
        if (auto mark = check(number, i)) return mark;
        i = text.find_first_not_of(' ', i + 1);
        if (i == std::string_view::npos) return std::nullopt;
      }
      if (auto mark = check(number, i)) return mark;
    }
    return scan(text, i, indent, number);
  }

 private:
  std::optional<SourceMark> check(int number, size_t column) const {
    if (indents_.size() + flow_ <= limit_) return std::nullopt;
    return SourceMark{number, static_cast<int>(column) + 1};
  }

  std::optional<SourceMark> scan(std::string_view text, size_t i, size_t indent, int number) {
    char last = ' ';
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (quote_ == '"') {
        if (c == '\\')
          ++i;
        else if (c == '"')
          quote_ = 0;
      } else if (quote_ == '\'') {
        if (c == '\'' && i + 1 < text.size() && text[i + 1] == '\'')
          ++i;
        else if (c == '\'')
          quote_ = 0;
      } else if (c == '#' && (last == ' ' || last == '\t')) {
        break;
      } else if ((c == '"' || c == '\'') && (last == ' ' || last == '[' || last == '{' || last == ',' || last == ':')) {
        quote_ = c;
      } else if (c == '[' || c == '{') {
        ++flow_;
        if (auto mark = check(number, i)) return mark;
      } else if ((c == ']' || c == '}') && flow_ > 0) {
        --flow_;
      }
      last = c;
    }
    // "key: |" or "key: >-": the lines below, more indented, are text.
    if (quote_ == 0 && flow_ == 0) {
      std::string_view body = text.substr(0, std::min(i, text.size()));
      auto end = body.find_last_not_of(" \t");
      if (end != std::string_view::npos) {
        auto start = body.find_last_of(" \t", end);
        std::string_view token = body.substr(start == std::string_view::npos ? 0 : start + 1);
        token = token.substr(0, token.find_first_of(" \t"));
        bool indicator = !token.empty() && (token.front() == '|' || token.front() == '>') &&
                         token.find_first_not_of("|>+-0123456789") == std::string_view::npos;
        if (indicator) {
          block_scalar_ = true;
          block_indent_ = indent;
        }
      }
    }
    return std::nullopt;
  }

  size_t limit_;
  std::vector<size_t> indents_;
  size_t flow_ = 0;
  char quote_ = 0;
  bool block_scalar_ = false;  // inside a | or > scalar, more indented than its key
  size_t block_indent_ = 0;
};

}  // namespace

std::optional<SourceMark> too_deep(std::string_view text, size_t limit) {
  DepthScanner scanner(limit);
  int number = 0;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (auto mark = scanner.line(line, ++number)) return mark;
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace gate::config

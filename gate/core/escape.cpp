#include "core/escape.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace gate::core {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at text[i] and its code point; 0 when
// the bytes there are not valid UTF-8 (overlong forms and surrogates too).
size_t utf8_sequence(std::string_view text, size_t i, char32_t& code) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || i + length > text.size()) return 0;
  code = length == 1 ? lead : lead & (0xFF >> (length + 1));
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr char32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

std::string control_marker(unsigned char c) { return fmt::format("\\x{:02X}", c); }

// The end of an ANSI escape sequence starting at text[i] (ESC), or i + 1.
size_t skip_ansi(std::string_view text, size_t i) {
  if (i + 1 < text.size() && text[i + 1] == '[') {
    size_t k = i + 2;
    while (k < text.size() && static_cast<unsigned char>(text[k]) >= 0x20 && static_cast<unsigned char>(text[k]) < 0x40)
      ++k;
    if (k < text.size() && static_cast<unsigned char>(text[k]) >= 0x40 && static_cast<unsigned char>(text[k]) < 0x7F) {
      return k + 1;
    }
  }
  return i + 1;
}

// Valid UTF-8 passes as is; `on_control` decides for C0 controls and DEL.
template <typename OnControl>
std::string sanitize(std::string_view text, OnControl on_control) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    // A run of printable ASCII (most text) goes over whole.
    size_t run = i;
    while (run < text.size() && static_cast<unsigned char>(text[run]) >= 0x20 &&
           static_cast<unsigned char>(text[run]) < 0x7F) {
      ++run;
    }
    if (run > i) {
      out.append(text.data() + i, run - i);
      i = run;
      continue;
    }
    char32_t code = 0;
    size_t length = utf8_sequence(text, i, code);
    if (length == 0) {
      out += kReplacement;
      ++i;
    } else if (code < 0x20 || code == 0x7F) {
      i = on_control(text, i, out);
    } else {
      if (code == 0xFFFE || code == 0xFFFF)
        out += kReplacement;
      else
        out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace

std::string xml_chars(std::string_view text) {
  return sanitize(text, [](std::string_view t, size_t i, std::string& out) {
    char c = t[i];
    if (c == '\t' || c == '\n' || c == '\r')
      out += c;
    else
      out += control_marker(static_cast<unsigned char>(c));
    return i + 1;
  });
}

std::string markup_escape(std::string_view text, bool in_attribute) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\r': out += "&#13;"; break;
      case '\n': out += in_attribute ? "&#10;" : "\n"; break;
      case '\t': out += in_attribute ? "&#9;" : "\t"; break;
      default: out += c;
    }
  }
  return out;
}

std::string terminal_line(std::string_view text) {
  return sanitize(text, [](std::string_view t, size_t i, std::string& out) {
    char c = t[i];
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += '\t';
    else if (size_t end = c == '\x1b' ? skip_ansi(t, i) : i + 1; end > i + 1)
      return end;
    else
      out += control_marker(static_cast<unsigned char>(c));
    return i + 1;
  });
}

std::string markdown_code(std::string_view text, size_t max) {
  std::string line = sanitize(text, [](std::string_view t, size_t i, std::string& out) {
    char c = t[i];
    out += (c == '\n' || c == '\r' || c == '\t') ? std::string(" ") : control_marker(static_cast<unsigned char>(c));
    return i + 1;
  });
  if (line.size() > max) {
    size_t cut = max - 3;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    line = line.substr(0, cut) + "...";
  }
  if (line.empty()) return "` `";
  // GitHub's tables split cells at '|' before reading code spans.
  std::string cell;
  size_t run = 0, longest = 0;
  for (char c : line) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
    cell += c == '|' ? std::string("\\|") : std::string(1, c);
  }
  std::string fence(longest + 1, '`');
  bool pad = cell.front() == '`' || cell.back() == '`' || cell.front() == ' ';
  return pad ? fence + " " + cell + " " + fence : fence + cell + fence;
}

void append_json_string(std::string& out, std::string_view text) {
  const bool plain =
      std::all_of(text.begin(), text.end(), [](char ch) { return ch >= 0x20 && ch < 0x7F && ch != '"' && ch != '\\'; });
  if (plain) {
    out += '"';
    out += text;
    out += '"';
  } else {
    out += nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace gate::core

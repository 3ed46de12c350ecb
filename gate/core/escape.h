#pragma once
// One escaping rule per output format. Text from outside gate (test names,
// messages, consumer output, the consumer's config strings) is written
// through the rule of the format it lands in, and nothing from outside is
// written without one.
#include <string>
#include <string_view>

namespace gate::core {

// XML 1.0 allows only tab, newline, carriage return and U+0020 and above
// (less the surrogates, U+FFFE and U+FFFF), in valid UTF-8. Anything else is
// replaced by a visible marker: "\x1B" for a control byte, U+FFFD for a byte
// that is not UTF-8, so the report stays valid and shows what was there.
std::string xml_chars(std::string_view text);

// The markup characters of XML and HTML as entities (& < > "), a carriage
// return as a character reference (parsers fold it away otherwise); in an
// XML attribute value also tab and newline (which parsers turn into spaces).
std::string markup_escape(std::string_view text, bool in_attribute = false);

// Markdown (summary.md, the GitHub step summary): the text as one code span,
// delimited by more backticks than it holds, so no HTML, emphasis, link or
// autolink inside it is rendered and no `|` ends a table cell. One line,
// control characters marked, at most `max` bytes (longer is cut with "...").
std::string markdown_code(std::string_view text, size_t max = 160);

// A line for the terminal (and a CI log that reads workflow commands from
// it): newlines and carriage returns written as "\n" and "\r", so a line gate
// prints stays one line; ANSI escape sequences dropped, other control
// characters marked as "\xHH".
std::string terminal_line(std::string_view text);

// JSON: `text` appended as a JSON string exactly as nlohmann's dump writes it
// (invalid UTF-8 replaced by U+FFFD). Printable ASCII without a quote or a
// backslash, most test names, is appended as it is, without the library.
void append_json_string(std::string& out, std::string_view text);

}  // namespace gate::core

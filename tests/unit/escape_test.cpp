#include "core/escape.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

using namespace gate::core;

TEST(XmlChars, KeepsWhatXml10AllowsAndMarksTheRest) {
  EXPECT_EQ(xml_chars("a\tb\nc\rd é ✓ 😀"), "a\tb\nc\rd é ✓ 😀");
  EXPECT_EQ(xml_chars("esc\x1b[31m bel\x07"), "esc\\x1B[31m bel\\x07");
  EXPECT_EQ(xml_chars(std::string("nul\0after", 9)), "nul\\x00after");
  EXPECT_EQ(xml_chars("bad \xff\xfe byte"), "bad \xEF\xBF\xBD\xEF\xBF\xBD byte");
  EXPECT_EQ(xml_chars("overlong \xc0\xaf"), "overlong \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(xml_chars("surrogate \xed\xa0\x80"), "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(xml_chars("noncharacter \xef\xbf\xbf"), "noncharacter \xEF\xBF\xBD");
}

TEST(TerminalLine, OneLineWithoutEscapeSequences) {
  EXPECT_EQ(terminal_line("blocked: test_a\n::error file=x::owned"), "blocked: test_a\\n::error file=x::owned");
  EXPECT_EQ(terminal_line("a\r::warning::x"), "a\\r::warning::x");
  EXPECT_EQ(terminal_line("\x1b[31mred\x1b[0m and \x1b]0;title\x07 bell"), "red and \\x1B]0;title\\x07 bell");
  EXPECT_EQ(terminal_line("tab\tkept"), "tab\tkept");
}

TEST(MarkdownCode, NothingInsideIsRendered) {
  EXPECT_EQ(markdown_code("test_a"), "`test_a`");
  EXPECT_EQ(markdown_code("<img src=x onerror=alert(1)>"), "`<img src=x onerror=alert(1)>`");
  EXPECT_EQ(markdown_code("a|b"), "`a\\|b`");
  EXPECT_EQ(markdown_code("has `code` in it"), "``has `code` in it``");
  EXPECT_EQ(markdown_code("`starts"), "`` `starts ``");
  EXPECT_EQ(markdown_code("two\nlines\x1b[1m"), "`two lines\\x1B[1m`");
  EXPECT_EQ(markdown_code(""), "` `");
  std::string cut = markdown_code(std::string(200, 'x') + "</details>", 50);
  EXPECT_EQ(cut, "`" + std::string(47, 'x') + "...`");
  // Not cut inside a multi-byte character.
  std::string accents;
  for (int i = 0; i < 40; ++i) accents += "é";
  std::string short_cut = markdown_code(accents, 20);
  EXPECT_EQ(short_cut, "`" + accents.substr(0, 16) + "...`");
}

TEST(Escape, MarkupEntitiesAndAttributeWhitespace) {
  EXPECT_EQ(gate::core::markup_escape("a<b>&\"c\"\r\n\t"), "a&lt;b&gt;&amp;&quot;c&quot;&#13;\n\t");
  EXPECT_EQ(gate::core::markup_escape("x\ny\tz", /*in_attribute=*/true), "x&#10;y&#9;z");
}

#include "report/junit.h"

#include <expat.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/escape.h"
#include "registry/digest.h"

namespace gate::report {
namespace {

// Bounds on what a consumer's report can make gate hold: the reports keep
// the start of each text with a marker (the consumer's log has it whole).
constexpr size_t kMaxDetails = 8 * 1024;
constexpr size_t kMaxMessage = 2 * 1024;
constexpr size_t kMaxName = 1024;
constexpr size_t kMaxDepth = 64;          // real reports nest 1 to 5 suites
constexpr size_t kMaxElementDepth = 256;  // any element (the parser keeps each open one)
constexpr size_t kMaxTests = 5'000'000;
constexpr uintmax_t kMaxFileBytes = uintmax_t{1} << 30;
// How much of a report is handed to the parser at once.
constexpr size_t kPieceBytes = size_t{16} << 20;

std::string bounded(std::string text) {
  if (text.size() > kMaxDetails) text = text.substr(0, kMaxDetails) + "\n[... truncated by gate]";
  return text;
}

std::string trimmed(std::string_view text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(start, end - start + 1));
}

std::string first_line(std::string_view text) {
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (std::string t = trimmed(line); !t.empty()) return t;
  }
  return "";
}

std::string last_line(std::string_view text) {
  std::string last;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (std::string t = trimmed(line); !t.empty()) last = t;
  }
  return last;
}

// A message that says nothing more than the element it is on.
bool is_generic(const std::string& message) {
  std::string m = trimmed(message);
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return m.empty() || m == "failed" || m == "failure" || m == "error" || m == "fail";
}

// A name longer than this keeps its start and, for identity across runs,
// a digest of the whole.
std::string bounded_name(const char* raw) {
  std::string_view text(raw);
  if (text.size() <= kMaxName) return std::string(text);
  return fmt::format("{}...[gate: {} bytes, {}]", text.substr(0, kMaxName - 64), text.size(),
                     registry::sha256_digest(text).substr(0, 23));
}

std::string bounded_message(std::string text) {
  if (text.size() > kMaxMessage) text = text.substr(0, kMaxMessage) + "[... truncated by gate]";
  return text;
}

// An error outranks a failure, which outranks a pass, which outranks a skip.
int severity(TestStatus s) {
  return s == TestStatus::error ? 3 : s == TestStatus::failed ? 2 : s == TestStatus::passed ? 1 : 0;
}

// The bytes of a consumer's report as an XML parser can read them. Reporters
// write what XML 1.0 forbids (ANSI colour codes from test output, &#27;,
// bytes that are not UTF-8); a strict parser would refuse the whole report
// for one of them.
class ByteRepair {
 public:
  // A report in another encoding (a UTF-16 byte order mark, or a declared
  // encoding that is not UTF-8) is left to the parser as it is: decided
  // from the report's first bytes.
  void decide(std::string_view head) {
    head = head.substr(0, 200);
    bool utf16 = head.starts_with("\xFE\xFF") || head.starts_with("\xFF\xFE");
    size_t enc = head.starts_with("<?xml") ? head.find("encoding=") : std::string_view::npos;
    std::string declared;
    if (enc != std::string_view::npos) {
      for (size_t i = enc + 10; i < head.size() && head[i] != '"' && head[i] != '\''; ++i) {
        declared += static_cast<char>(std::tolower(static_cast<unsigned char>(head[i])));
      }
    }
    as_is_ = utf16 || (!declared.empty() && declared != "utf-8" && declared != "utf8");
  }
  // A piece of the report, cut before a '<' (so that no character or
  // reference is cut): itself when there is nothing to repair (most:
  // nothing is copied).
  std::string_view repair(std::string_view piece) {
    if (as_is_ || plain(piece)) return piece;
    out_ = fix_references(core::xml_chars(piece));
    return out_;
  }

 private:
  // ASCII without control characters or character references: what the
  // parser can read as it is.
  static bool plain(std::string_view text) {
    for (unsigned char c : text) {
      if (c >= 0x80 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) return false;
    }
    return text.find("&#") == std::string_view::npos;
  }

  // "&#27;" and the like, references to characters XML 1.0 forbids, marked
  // as the text "\x1B" (or U+FFFD), as gate marks such characters elsewhere.
  static std::string fix_references(std::string text) {
    std::string out;
    size_t from = 0;
    for (size_t at = text.find("&#"); at != std::string::npos; at = text.find("&#", at + 2)) {
      size_t digits = at + 2;
      bool hex = digits < text.size() && (text[digits] == 'x' || text[digits] == 'X');
      if (hex) ++digits;
      size_t semi = text.find(';', digits);
      if (semi == std::string::npos || semi == digits || semi - digits > 8) continue;
      unsigned long code = 0;
      bool ok = true;
      for (size_t i = digits; i < semi && ok; ++i) {
        char c = text[i];
        int v = std::isdigit(static_cast<unsigned char>(c))           ? c - '0'
                : hex && std::isxdigit(static_cast<unsigned char>(c)) ? std::tolower(c) - 'a' + 10
                                                                      : -1;
        ok = v >= 0;
        code = code * (hex ? 16 : 10) + static_cast<unsigned long>(std::max(v, 0));
      }
      if (!ok) continue;
      bool allowed = code == 0x9 || code == 0xA || code == 0xD || (code >= 0x20 && code <= 0xD7FF) ||
                     (code >= 0xE000 && code <= 0xFFFD) || (code >= 0x10000 && code <= 0x10FFFF);
      if (allowed) continue;
      out.append(text, from, at - from);
      out += code < 0x20 ? fmt::format("\\x{:02X}", code) : std::string("\xEF\xBF\xBD");
      from = semi + 1;
    }
    if (from == 0) return text;
    out.append(text, from, std::string::npos);
    return out;
  }

  bool as_is_ = false;
  std::string out_;
};

// Where the bytes of a report come from: fills `into` with up to `size`
// bytes, returns how many (0 at the end).
using Source = std::function<size_t(char* into, size_t size)>;

// Reads test cases as the parser meets them: nothing of the document is
// kept but the suites open, the case being read and its result's text
// (bounded). Nesting is tracked by kind, without recursion.
class CaseCollector {
 public:
  CaseCollector(std::string source, std::vector<TestCase>& out) : source_(std::move(source)), out_(out) {
    parser_ = XML_ParserCreate("UTF-8");
    if (!parser_) throw InfraError(fmt::format("{}: the XML parser could not start", source_));
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(parser_, &CaseCollector::on_start, &CaseCollector::on_end);
    XML_SetCharacterDataHandler(parser_, &CaseCollector::on_text);
    // No entity of a report's own is expanded (XXE, entity bombs): a DTD
    // that declares one stops the read.
    XML_SetEntityDeclHandler(parser_, &CaseCollector::on_entity);
    XML_SetParamEntityParsing(parser_, XML_PARAM_ENTITY_PARSING_NEVER);
  }
  ~CaseCollector() { XML_ParserFree(parser_); }
  CaseCollector(const CaseCollector&) = delete;
  CaseCollector& operator=(const CaseCollector&) = delete;

  // The report piece by piece (16 MiB, cut before a '<', so that no
  // character or reference is cut): neither the file nor a copy of it is
  // held whole. Debian's expat 2.5 scans a token cut by the end of a piece
  // again from its start with each piece (CVE-2023-52425, fixed in 2.6); a
  // piece in which nothing ends (a token longer than it, with a '<' inside:
  // CDATA, a comment) makes the next piece twice as long, so that rescans
  // stay few.
  void read(const Source& source, size_t piece) {
    std::string chunk, carry;
    bool first = true;
    for (bool last = false; !last;) {
      chunk.swap(carry);
      carry.clear();
      const size_t had = chunk.size();
      chunk.resize(had + piece);
      size_t got = 0;
      for (size_t n;
           had + got < chunk.size() && (n = source(chunk.data() + had + got, chunk.size() - had - got)) > 0;) {
        got += n;
      }
      chunk.resize(had + got);
      last = had + got < had + piece;                   // the source ran dry
      if (first) repair_.decide(chunk), first = false;  // (before any cut: the whole head)
      if (!last) {
        const size_t cut = chunk.rfind('<');
        if (cut == std::string::npos || cut == 0) {
          // No '<' to cut before: one token (a long name, a long text) is
          // longer than the piece. Read on until the next one: cutting
          // anywhere else could cut a character in two.
          chunk.swap(carry);
          piece *= 2;
          continue;
        }
        carry.assign(chunk, cut, std::string::npos);
        chunk.resize(cut);
      }
      const std::string_view text = repair_.repair(chunk);
      const size_t events = events_;
      if (XML_Parse(parser_, text.data(), static_cast<int>(text.size()), last ? XML_TRUE : XML_FALSE) ==
          XML_STATUS_ERROR) {
        if (!refusal_.empty()) throw InfraError(fmt::format("{}: {}", source_, refusal_));
        throw InfraError(fmt::format("{}: not valid XML at line {}, column {}: {}", source_,
                                     XML_GetCurrentLineNumber(parser_), XML_GetCurrentColumnNumber(parser_) + 1,
                                     XML_ErrorString(XML_GetErrorCode(parser_))));
      }
      if (events == events_) piece *= 2;
    }
    if (!root_seen_) throw InfraError(fmt::format("{}: not a JUnit report (no element)", source_));
  }

 private:
  enum class Kind : unsigned char { suites, suite, testcase, result, stream, other };

  void refuse(std::string why) {
    refusal_ = std::move(why);
    XML_StopParser(parser_, XML_FALSE);
  }

  static const char* attribute(const XML_Char** atts, std::string_view name) {
    for (size_t i = 0; atts[i]; i += 2) {
      if (name == atts[i]) return atts[i + 1];
    }
    return "";
  }

  // (After a refusal the parser may still report the element it was in.)
  bool stopped() const { return !refusal_.empty(); }

  void start(std::string_view tag, const XML_Char** atts) {
    if (stopped()) return;
    const Kind parent = kinds_.empty() ? Kind::other : kinds_.back();
    if (kinds_.size() >= kMaxElementDepth) {
      return refuse(fmt::format("elements nested more than {} deep; refused", kMaxElementDepth));
    }
    Kind kind = Kind::other;
    if (kinds_.empty()) {
      root_seen_ = true;
      if (tag != "testsuites" && tag != "testsuite") {
        return refuse(fmt::format("not a JUnit report (root element <{}>, expected <testsuites> or <testsuite>)", tag));
      }
    }
    const bool in_suites = kinds_.empty() || parent == Kind::suites || parent == Kind::suite;
    if (tag == "testsuites" && kinds_.empty()) {
      kind = Kind::suites;
    } else if (tag == "testsuite" && in_suites) {
      if (suites_.size() >= kMaxDepth) {
        return refuse(fmt::format("<testsuite> elements nested more than {} deep; refused", kMaxDepth));
      }
      kind = Kind::suite;
      suites_.push_back(bounded_name(attribute(atts, "name")));
    } else if (tag == "testcase" && in_suites && !kinds_.empty()) {
      if (out_.size() >= kMaxTests) return refuse(fmt::format("more than {} test cases; refused", kMaxTests));
      kind = Kind::testcase;
      current_ = TestCase{};
      current_.classname = bounded_name(attribute(atts, "classname"));
      current_.name = bounded_name(attribute(atts, "name"));
      current_.seconds = std::strtod(attribute(atts, "time"), nullptr);
      if (!std::isfinite(current_.seconds) || current_.seconds < 0) current_.seconds = 0;
      current_.status = TestStatus::passed;
      stream_tail_[0].clear();
      stream_tail_[1].clear();
    } else if (parent == Kind::testcase && (tag == "failure" || tag == "error" || tag == "skipped")) {
      kind = Kind::result;
      TestStatus status = tag == "failure" ? TestStatus::failed
                          : tag == "error" ? TestStatus::error
                                           : TestStatus::skipped;
      // Inside one case: an error outranks a failure, which outranks a skip.
      taking_ = rank(status) > rank(current_.status);
      if (taking_) {
        current_.status = status;
        current_.message = bounded_message(attribute(atts, "message"));
        text_.clear();
      }
    } else if (parent == Kind::testcase && (tag == "system-out" || tag == "system-err")) {
      kind = Kind::stream;
      stream_ = tag == "system-err" ? 0 : 1;
    }
    kinds_.push_back(kind);
  }

  void end() {
    if (stopped() || kinds_.empty()) return;
    const Kind kind = kinds_.back();
    kinds_.pop_back();
    if (kind == Kind::suite) {
      suites_.pop_back();
    } else if (kind == Kind::result && taking_) {
      current_.details = bounded(std::move(text_));
      text_.clear();
      // Reporters differ: mocha's xunit writes the message as the
      // element's text, go-junit-report a bare "Failed" attribute.
      if (is_generic(current_.message)) {
        std::string line = first_line(current_.details);
        if (!line.empty()) current_.message = bounded_message(line);
      }
      taking_ = false;
    } else if (kind == Kind::testcase) {
      if ((current_.status == TestStatus::failed || current_.status == TestStatus::error) &&
          is_generic(current_.message)) {
        for (const auto& tail : stream_tail_) {  // system-err, then system-out
          std::string line = last_line(tail);
          if (!line.empty()) {
            current_.message = bounded_message(line);
            break;
          }
        }
      }
      out_.push_back(std::move(current_));
    }
  }

  void text(std::string_view s) {
    if (stopped() || kinds_.empty()) return;
    if (kinds_.back() == Kind::result && taking_) {
      if (text_.size() <= kMaxDetails) text_.append(s.substr(0, kMaxDetails + 1 - text_.size()));
    } else if (kinds_.back() == Kind::stream) {
      std::string& tail = stream_tail_[stream_];  // the end of it: its last line is wanted
      tail.append(s);
      if (tail.size() > 2 * kMaxMessage) tail.erase(0, tail.size() - kMaxMessage);
    }
  }

  static int rank(TestStatus s) {
    return s == TestStatus::error ? 3 : s == TestStatus::failed ? 2 : s == TestStatus::skipped ? 1 : 0;
  }

  static void XMLCALL on_start(void* self, const XML_Char* name, const XML_Char** atts) {
    ++static_cast<CaseCollector*>(self)->events_;
    static_cast<CaseCollector*>(self)->start(name, atts);
  }
  static void XMLCALL on_end(void* self, const XML_Char*) {
    ++static_cast<CaseCollector*>(self)->events_;
    static_cast<CaseCollector*>(self)->end();
  }
  static void XMLCALL on_text(void* self, const XML_Char* s, int len) {
    ++static_cast<CaseCollector*>(self)->events_;
    static_cast<CaseCollector*>(self)->text(std::string_view(s, static_cast<size_t>(len)));
  }
  static void XMLCALL on_entity(void* self, const XML_Char* name, int, const XML_Char*, int, const XML_Char*,
                                const XML_Char*, const XML_Char*, const XML_Char*) {
    static_cast<CaseCollector*>(self)->refuse(fmt::format("declares the entity '{}': entities are refused", name));
  }

  std::string source_;
  std::vector<TestCase>& out_;
  XML_Parser parser_ = nullptr;
  ByteRepair repair_;
  std::vector<Kind> kinds_;
  std::vector<std::string> suites_;
  TestCase current_;
  bool taking_ = false;  // this result element sets the case's status
  std::string text_;
  std::string stream_tail_[2];
  int stream_ = 0;
  bool root_seen_ = false;
  size_t events_ = 0;  // elements and text met so far
  std::string refusal_;
};

// How many "<testcase" a report holds (an upper bound of its cases),
// counted piece by piece (a tag cut by a piece's end is counted once).
size_t count_cases(const Source& source, size_t piece_bytes) {
  static constexpr std::string_view kTag = "<testcase";
  std::string buffer(std::max(piece_bytes, kTag.size()), '\0');
  size_t count = 0, kept = 0;
  for (size_t n; (n = source(buffer.data() + kept, buffer.size() - kept)) > 0;) {
    std::string_view text(buffer.data(), kept + n);
    for (size_t at = text.find(kTag); at != std::string_view::npos; at = text.find(kTag, at + kTag.size())) ++count;
    kept = std::min(text.size(), kTag.size() - 1);  // a tag's start may be at the end
    std::memmove(buffer.data(), text.data() + text.size() - kept, kept);
  }
  return count;
}

// `open` gives a fresh source at the report's start each time it is called;
// `size` is the report's size as far as it is known (a small report is one
// piece: no 16 MiB buffer for a report of a few KB).
std::vector<TestCase> read_report(const std::function<Source()>& open, const std::string& source, size_t size,
                                  size_t piece_bytes = kPieceBytes) {
  const size_t piece = std::max<size_t>(std::min(piece_bytes, size + 1), 1);
  std::vector<TestCase> out;
  // Room for every case at once: grown by doubling, a million cases would
  // hold one and a half times their size while they move.
  out.reserve(std::min(count_cases(open(), piece), kMaxTests));
  CaseCollector collector(source, out);
  collector.read(open(), piece);
  return out;
}

Source file_source(std::ifstream& in, const std::string& name) {
  return [&in, name](char* into, size_t size) -> size_t {
    in.read(into, static_cast<std::streamsize>(size));
    if (in.bad()) throw InfraError(fmt::format("{}: cannot be read", name));
    return static_cast<size_t>(in.gcount());
  };
}

}  // namespace

std::vector<TestCase> parse_junit_file(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (!ec && size > kMaxFileBytes) {
    throw InfraError(fmt::format("{}: {} MiB, more than the {} MiB gate reads of a JUnit report; refused",
                                 file.string(), size >> 20, kMaxFileBytes >> 20));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InfraError(fmt::format("{}: cannot be read", file.string()));
  const std::string name = file.string();
  // Read twice from the file (count, then parse), never held whole.
  return read_report(
      [&] {
        in.clear();
        in.seekg(0);
        return file_source(in, name);
      },
      name, ec ? kPieceBytes : static_cast<size_t>(size));
}

std::vector<TestCase> parse_junit_text(const std::string& text, const std::string& source_name, size_t piece_bytes) {
  if (text.size() > kMaxFileBytes) {
    throw InfraError(fmt::format("{}: more than the {} MiB gate reads of a JUnit report; refused", source_name,
                                 kMaxFileBytes >> 20));
  }
  return read_report(
      [&text]() -> Source {
        return [&text, at = size_t{0}](char* into, size_t size) mutable {
          const size_t n = std::min(size, text.size() - at);
          std::memcpy(into, text.data() + at, n);
          at += n;
          return n;
        };
      },
      source_name, text.size(), piece_bytes);
}

void merge_repeated_tests(std::vector<TestCase>& tests) {
  // By a hash of the id, sorted (16 bytes a test: a report may name a
  // million), then each run of equal hashes compared by id.
  std::vector<std::pair<size_t, uint32_t>> by_hash;
  by_hash.reserve(tests.size());
  for (size_t i = 0; i < tests.size(); ++i)
    by_hash.emplace_back(std::hash<std::string>{}(tests[i].id()), static_cast<uint32_t>(i));
  std::sort(by_hash.begin(), by_hash.end());
  std::vector<bool> dropped(tests.size(), false);
  bool any = false;
  for (size_t run = 0; run < by_hash.size();) {
    size_t end = run + 1;
    while (end < by_hash.size() && by_hash[end].first == by_hash[run].first) ++end;
    // (Equal hashes are rare: a pair at a time, in report order.)
    for (size_t i = run; i < end; ++i) {
      const uint32_t first = by_hash[i].second;
      if (dropped[first]) continue;
      for (size_t j = i + 1; j < end; ++j) {
        const uint32_t later = by_hash[j].second;
        if (dropped[later] || !tests[later].has_id(tests[first].id())) continue;
        TestCase& earlier = tests[first];
        const double seconds = earlier.seconds + tests[later].seconds;  // both ran
        if (severity(tests[later].status) > severity(earlier.status)) earlier = std::move(tests[later]);
        earlier.seconds = seconds;
        dropped[later] = any = true;
      }
    }
    run = end;
  }
  if (!any) return;
  size_t kept = 0;
  for (size_t i = 0; i < tests.size(); ++i) {
    if (dropped[i]) continue;
    if (kept != i) tests[kept] = std::move(tests[i]);
    ++kept;
  }
  tests.resize(kept);
}

}  // namespace gate::report

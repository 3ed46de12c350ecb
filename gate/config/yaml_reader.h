#pragma once
// Reading gate.yaml's YAML nodes (internal to gate/config): every problem
// becomes "file:line:col: reason" (UsageError, exit 2). config.cpp reads the
// document and the image, consumer_config.cpp a consumer.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/placeholders.h"
#include "core/duration.h"
#include "core/error.h"

namespace gate::config {

using Names = std::set<std::string, std::less<>>;

// Which of gate's placeholders each kind of field may use.
inline const Names kEnvOnly{};
inline const Names kBuildTime{std::string(kGitSha)};
inline const Names kTestTime{std::string(kCandidate),    std::string(kCandidateRef), std::string(kCandidateDigest),
                             std::string(kCandidateTag), std::string(kGitSha),       "SERVICE_*"};

// Levenshtein distance, for "did you mean" hints.
size_t edit_distance(std::string_view a, std::string_view b);

// Reads one YAML document and turns every problem into "file:line:col: reason".
class Reader {
 public:
  explicit Reader(std::filesystem::path file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& reason) const {
    throw UsageError(fmt::format("{}:{}:{}: {}", file_.string(), mark.line + 1, mark.column + 1, reason));
  }
  [[noreturn]] void fail(const SourceMark& mark, const std::string& reason) const {
    throw UsageError(fmt::format("{}:{}:{}: {}", file_.string(), mark.line, mark.column, reason));
  }

  static SourceMark mark_of(const YAML::Node& node) { return SourceMark{node.Mark().line + 1, node.Mark().column + 1}; }

  static const char* kind(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Map: return "a mapping";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Scalar: return "a scalar";
      case YAML::NodeType::Null: return "empty";
      default: return "undefined";
    }
  }

  void expect_map(const YAML::Node& node, std::string_view what) const {
    if (!node.IsMap()) fail(node.Mark(), fmt::format("{} must be a mapping, found {}", what, kind(node)));
  }

  // Rejects keys outside `known`, suggesting the closest known key.
  void check_keys(const YAML::Node& map, std::string_view what, std::initializer_list<std::string_view> known) const {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) fail(it->first.Mark(), fmt::format("{}: keys must be plain names", what));
      std::string key = it->first.Scalar();
      // yaml-cpp keeps one of two equal keys silently; a config must not mean two things.
      if (!seen.insert(key).second) fail(it->first.Mark(), fmt::format("key '{}' appears twice in {}", key, what));
      bool found = false;
      std::string_view closest;
      size_t best = 3;
      for (auto k : known) {
        if (k == key) found = true;
        size_t d = edit_distance(key, k);
        if (d < best) {
          best = d;
          closest = k;
        }
      }
      if (!found) {
        std::string known_list;
        for (auto k : known) known_list += (known_list.empty() ? "" : ", ") + std::string(k);
        std::string hint = closest.empty() ? fmt::format(" (known keys: {})", known_list)
                                           : fmt::format(" (did you mean '{}'?)", closest);
        fail(it->first.Mark(), fmt::format("unknown key '{}' in {}{}", key, what, hint));
      }
    }
  }

  YAML::Node required(const YAML::Node& map, const char* key, std::string_view what) const {
    YAML::Node node = map[key];
    if (!node.IsDefined() || node.IsNull()) {
      fail(map.Mark(), fmt::format("{} is missing the required key '{}'", what, key));
    }
    return node;
  }

  std::string scalar(const YAML::Node& node, std::string_view what) const {
    if (!node.IsScalar()) fail(node.Mark(), fmt::format("{} must be a string, found {}", what, kind(node)));
    const std::string& text = node.Scalar();
    // A NUL would cut the string at exec, an escape sequence would reach the
    // terminal: neither belongs in a config. Tabs and newlines (scripts) do.
    for (size_t i = 0; i < text.size(); ++i) {
      auto c = static_cast<unsigned char>(text[i]);
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        SourceMark mark = mark_of(node);
        if (text.find('\n') > i) mark.column += static_cast<int>(i) + (node.Tag() == "!" ? 1 : 0);
        fail(mark, fmt::format("{} holds the control character \\x{:02X} (character {} of the string): not allowed",
                               what, c, i + 1));
      }
    }
    return text;
  }

  Template template_of(const YAML::Node& node, std::string_view what, const Names& allowed) const {
    Template tmpl{scalar(node, what), mark_of(node)};
    if (auto problem = check_template(tmpl.text, allowed)) {
      // Point at the placeholder itself when the scalar sits on one line.
      int column = tmpl.mark.column + static_cast<int>(problem->offset);
      if (node.Tag() == "!") column += 1;  // quoted scalar: skip the opening quote
      fail(SourceMark{tmpl.mark.line, column}, fmt::format("{}: {}", what, problem->message));
    }
    return tmpl;
  }

  // The typed fields: each reads map[key] when it is set (present and not
  // null) and fails naming the field and its place when it is not of its
  // kind. Absent or null: nullopt / false, and the caller keeps its default.
  static bool has(const YAML::Node& map, const char* key) {
    YAML::Node n = map[key];
    return n.IsDefined() && !n.IsNull();
  }
  std::optional<bool> boolean(const YAML::Node& map, const char* key, std::string_view what) const {
    if (!has(map, key)) return std::nullopt;
    YAML::Node n = map[key];
    std::string text = scalar(n, fmt::format("{} {}", what, key));
    if (text != "true" && text != "false")
      fail(n.Mark(), fmt::format("{} {} must be true or false, found '{}'", what, key, text));
    return text == "true";
  }
  std::optional<int> whole_number(const YAML::Node& map, const char* key, std::string_view what, int minimum) const {
    if (!has(map, key)) return std::nullopt;
    YAML::Node n = map[key];
    std::string text = scalar(n, fmt::format("{} {}", what, key));
    bool digits = !text.empty() && text.size() < 6 &&
                  std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(text) < minimum) {
      fail(n.Mark(), fmt::format("{} {} must be a whole number of at least {}, found '{}'", what, key, minimum, text));
    }
    return std::stoi(text);
  }
  std::optional<std::chrono::milliseconds> duration(const YAML::Node& map, const char* key, std::string_view what,
                                                    std::string_view examples) const {
    if (!has(map, key)) return std::nullopt;
    return duration(map[key], fmt::format("{} {}", what, key), examples);
  }
  // A string or a list of strings (environment placeholders expanded).
  std::vector<std::string> string_list(const YAML::Node& map, const char* key, std::string_view what) const {
    std::vector<std::string> out;
    if (!has(map, key)) return out;
    YAML::Node n = map[key];
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    if (!n.IsSequence()) fail(n.Mark(), fmt::format("{} {} must be a list of strings, found {}", what, key, kind(n)));
    for (const auto& item : n) out.push_back(env_string(item, fmt::format("{} {}", what, key)));
    return out;
  }
  // An environment variable's name: letters, digits and '_', not starting with a digit.
  static bool is_env_var_name(std::string_view name) {
    return !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
           std::all_of(name.begin(), name.end(),
                       [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
  }
  // One of `names`, by its place in the list.
  size_t choice(const YAML::Node& node, std::string_view what, std::initializer_list<std::string_view> names) const {
    std::string text = scalar(node, what);
    size_t index = 0;
    std::string listed;
    for (auto name : names) {
      if (name == text) return index;
      listed += (index++ ? ", " : "") + std::string(name);
    }
    fail(node.Mark(), fmt::format("{} '{}' is not one gate has ({})", what, text, listed));
  }

  // A duration ("90s", "15m", "1h30m"); `examples` go into the message.
  std::chrono::milliseconds duration(const YAML::Node& node, std::string_view what, std::string_view examples) const {
    std::string text = scalar(node, what);
    auto parsed = parse_duration(text);
    if (!parsed) fail(node.Mark(), fmt::format("{} '{}' is not a duration (examples: {})", what, text, examples));
    return *parsed;
  }

  // Expands a field that may only use environment placeholders, now.
  std::string env_string(const YAML::Node& node, std::string_view what) const {
    Template tmpl = template_of(node, what, kEnvOnly);
    return expand(tmpl, {}, file_.string());
  }

  Command command(const YAML::Node& node, std::string_view what, bool list_is_argv) const {
    Command cmd;
    cmd.mark = mark_of(node);
    if (node.IsScalar()) {
      cmd.shell = true;
      cmd.argv.push_back(template_of(node, what, kTestTime));
      if (cmd.argv.front().text.empty()) fail(node.Mark(), fmt::format("{} is an empty command", what));
      return cmd;
    }
    if (node.IsSequence() && list_is_argv) {
      if (node.size() == 0) fail(node.Mark(), fmt::format("{} is an empty argv list", what));
      for (const auto& item : node) cmd.argv.push_back(template_of(item, what, kTestTime));
      return cmd;
    }
    fail(node.Mark(), fmt::format("{} must be a string (a shell command){}, found {}", what,
                                  list_is_argv ? " or a list (an argv)" : "", kind(node)));
  }

  std::filesystem::path file_;
};

Policy read_policy(const Reader& r, const YAML::Node& node, const std::string& what);
// "10%" (of the selected tests) or "3" (tests).
Limit read_limit(const Reader& r, const YAML::Node& node, const std::string& what);
Consumer read_consumer(const Reader& r, const YAML::Node& node, const std::filesystem::path& dir, size_t index);

}  // namespace gate::config

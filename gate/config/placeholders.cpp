#include "config/placeholders.h"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>

#include "core/error.h"

namespace gate::config {
namespace {

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// Walks the template; calls on_name(name, offset) for each ${NAME} and
// on_text(text) for literal runs. Returns a problem for malformed syntax.
template <typename OnText, typename OnName>
std::optional<PlaceholderProblem> walk(std::string_view text, OnText on_text, OnName on_name) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      size_t next = text.find('$', i);
      if (next == std::string_view::npos) next = text.size();
      on_text(text.substr(i, next - i));
      i = next;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      on_text("$");
      i += 2;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        return PlaceholderProblem{i, "unterminated placeholder: '${' without '}'"};
      }
      std::string_view name = text.substr(i + 2, close - i - 2);
      if (name.empty()) return PlaceholderProblem{i, "empty placeholder '${}'"};
      for (char c : name) {
        if (!is_name_char(c)) {
          return PlaceholderProblem{
              i, fmt::format("invalid placeholder '${{{}}}': names use letters, digits and '_'", name)};
        }
      }
      if (auto problem = on_name(name, i)) return problem;
      i = close + 1;
      continue;
    }
    // A lone '$' (e.g. "$HOME" for the shell) is kept as written.
    on_text("$");
    ++i;
  }
  return std::nullopt;
}

}  // namespace

const std::set<std::string, std::less<>>& gate_placeholders() {
  static const std::set<std::string, std::less<>> names{std::string(kCandidate), std::string(kCandidateRef),
                                                        std::string(kCandidateDigest), std::string(kCandidateTag),
                                                        std::string(kGitSha)};
  return names;
}

std::optional<PlaceholderProblem> check_template(std::string_view text,
                                                 const std::set<std::string, std::less<>>& allowed) {
  return walk(
      text, [](std::string_view) {},
      [&](std::string_view name, size_t offset) -> std::optional<PlaceholderProblem> {
        // SERVICE_<NAME>_HOST / _PORT...: known once the consumer's services run.
        if (name.rfind("SERVICE_", 0) == 0 && allowed.count(std::string_view("SERVICE_*"))) return std::nullopt;
        if (gate_placeholders().count(name)) {
          if (allowed.count(name)) return std::nullopt;
          return PlaceholderProblem{offset, fmt::format("placeholder '${{{}}}' is not known at this point of the run "
                                                        "(the candidate exists only after the build)",
                                                        name)};
        }
        if (std::getenv(std::string(name).c_str())) return std::nullopt;
        return PlaceholderProblem{offset,
                                  fmt::format("unknown placeholder '${{{}}}': not one of gate's "
                                              "(CANDIDATE, CANDIDATE_REF, CANDIDATE_DIGEST, CANDIDATE_TAG, GIT_SHA) "
                                              "and not set in the environment",
                                              name)};
      });
}

std::string expand(const Template& tmpl, const Values& values, std::string_view where) {
  std::string out;
  auto problem = walk(
      tmpl.text, [&](std::string_view text) { out.append(text); },
      [&](std::string_view name, size_t offset) -> std::optional<PlaceholderProblem> {
        if (auto it = values.find(name); it != values.end()) {
          out.append(it->second);
          return std::nullopt;
        }
        if (!gate_placeholders().count(name)) {
          if (const char* env = std::getenv(std::string(name).c_str())) {
            out.append(env);
            return std::nullopt;
          }
        }
        return PlaceholderProblem{offset, fmt::format("placeholder '${{{}}}' has no value", name)};
      });
  if (problem) {
    throw UsageError(
        fmt::format("{}:{}:{}: {}", where, tmpl.mark.line, tmpl.mark.column + problem->offset, problem->message));
  }
  return out;
}

}  // namespace gate::config

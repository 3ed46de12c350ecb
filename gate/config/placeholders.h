#pragma once
// ${NAME} placeholders in gate.yaml. Gate's own names are known only at some
// stage of the run (the candidate after the build); any other name comes from
// the environment. "$$" is a literal "$".
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace gate::config {

struct SourceMark {
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
};

// A string from gate.yaml that may hold placeholders, with where it was written.
struct Template {
  std::string text;
  SourceMark mark;
};

inline constexpr std::string_view kCandidate = "CANDIDATE";
inline constexpr std::string_view kCandidateRef = "CANDIDATE_REF";
inline constexpr std::string_view kCandidateDigest = "CANDIDATE_DIGEST";
inline constexpr std::string_view kCandidateTag = "CANDIDATE_TAG";
inline constexpr std::string_view kGitSha = "GIT_SHA";

// All of gate's own placeholder names.
const std::set<std::string, std::less<>>& gate_placeholders();

using Values = std::map<std::string, std::string, std::less<>>;

struct PlaceholderProblem {
  size_t offset = 0;  // into the template text
  std::string message;
};

// Checks a template: every gate name must be in `allowed`, every other name
// must be set in the environment. Returns the first problem, if any.
std::optional<PlaceholderProblem> check_template(std::string_view text,
                                                 const std::set<std::string, std::less<>>& allowed);

// Expands gate names from `values` and any other name from the environment.
// Throws UsageError (naming `where`) for a name that is in neither.
std::string expand(const Template& tmpl, const Values& values, std::string_view where);

}  // namespace gate::config

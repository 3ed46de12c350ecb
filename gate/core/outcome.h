#pragma once
// What gate made of a test's runs (gate/suite/evidence.cpp), in the words a
// policy names, verdict.json writes and every report shows. One vocabulary,
// shared by the config (policies) and the reports, so an outcome is never a
// string compared in a dozen places.
#include <optional>
#include <span>
#include <string_view>

namespace gate {

enum class Outcome : unsigned char {
  unclassified,  // not judged (a command consumer's JUnit case): its status speaks
  passed,
  regression,    // fails on the candidate, not (or no evidence) on the published image
  pre_existing,  // fails the same way on the published image
  flaky,         // passed on a retry, and gate saw it flaky before
  newly_flaky,   // passed on a retry, never seen flaky before
  missing,       // the last passing run had it, this one did not (policy only)
  timed_out,     // stopped at test_timeout
  skipped,
  error,  // an error (not an assertion) on the candidate
};

// "regression", "pre-existing", "newly-flaky", ...; "" for unclassified.
std::string_view outcome_name(Outcome outcome);
// The inverse; nullopt for a word that names no outcome ("" included).
std::optional<Outcome> outcome_from_name(std::string_view name);
// Every outcome but unclassified, in declaration order.
std::span<const Outcome> all_outcomes();
// A failure let through by a warn policy: flaky or pre-existing.
inline bool excused(Outcome outcome) { return outcome == Outcome::flaky || outcome == Outcome::pre_existing; }

}  // namespace gate

#include "core/outcome.h"

#include <array>

namespace gate {

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::unclassified: return "";
    case Outcome::passed: return "passed";
    case Outcome::regression: return "regression";
    case Outcome::pre_existing: return "pre-existing";
    case Outcome::flaky: return "flaky";
    case Outcome::newly_flaky: return "newly-flaky";
    case Outcome::missing: return "missing";
    case Outcome::timed_out: return "timed-out";
    case Outcome::skipped: return "skipped";
    case Outcome::error: return "error";
  }
  return "";
}

std::span<const Outcome> all_outcomes() {
  static constexpr std::array kAll{Outcome::passed,    Outcome::regression,  Outcome::pre_existing,
                                   Outcome::flaky,     Outcome::newly_flaky, Outcome::missing,
                                   Outcome::timed_out, Outcome::skipped,     Outcome::error};
  return kAll;
}

std::optional<Outcome> outcome_from_name(std::string_view name) {
  for (Outcome outcome : all_outcomes()) {
    if (outcome_name(outcome) == name) return outcome;
  }
  return std::nullopt;
}

}  // namespace gate

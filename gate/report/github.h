#pragma once
// GitHub Actions integration, used when GITHUB_ACTIONS=true: annotations for
// what blocked, and the job outputs `verdict` and `digest`. (The step
// summary is written with the other reports.)
#include "report/model.h"

namespace gate::report {

// Workflow commands on stdout: ::error file=F,title=T::message per blocking
// test (at most `limit`: GitHub shows about 10 per step).
void github_annotations(const Verdict& verdict, size_t limit = 10);
// Appends verdict=... and digest=... to $GITHUB_OUTPUT.
void github_outputs(const Verdict& verdict);

// Escaping of workflow-command data and properties (pure, for the tests).
std::string github_escape_data(const std::string& text);
std::string github_escape_property(const std::string& text);

}  // namespace gate::report

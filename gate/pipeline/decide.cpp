#include "pipeline/decide.h"

#include <fmt/format.h>

namespace gate::pipeline {

void decide(report::Verdict& verdict) {
  verdict.reasons.clear();
  size_t passed = 0;
  for (const auto& consumer : verdict.consumers) {
    if (consumer.passed()) {
      ++passed;
      continue;
    }
    for (const auto& reason : consumer.reasons) verdict.reasons.push_back(fmt::format("{}: {}", consumer.name, reason));
    if (consumer.reasons.empty()) {
      verdict.reasons.push_back(fmt::format("{}: {}", consumer.name, report::consumer_status_name(consumer.status)));
    }
  }
  if (passed == verdict.consumers.size() && passed > 0) {
    verdict.exit_code = ExitCode::passed;
    verdict.reasons.push_back(fmt::format("all {} consumer(s) passed against {}", passed, verdict.candidate.digest));
  } else {
    verdict.exit_code = ExitCode::blocked;
  }
}

}  // namespace gate::pipeline

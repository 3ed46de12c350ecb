#pragma once
// The baseline: a faithful replay, against the published image, of what
// failed (or failed and then passed) on the candidate, or none at all.
// The replay is an ImageRun of its own: a fresh worktree of the same commit
// (nothing the candidate's run left behind), setup run again, services
// started afresh from the published image, every placeholder and GATE_*
// variable rebound to it, no coverage. It is evidence only if gate can show
// it was one: when any container of the candidate is created during it (a
// consumer that names the candidate by a reference gate cannot rebind), or
// its services are not ready, its setup or collection fails, or a batch
// fails, it is invalid and excuses nothing.
#include <string>
#include <vector>

#include "config/config.h"
#include "git/checkout.h"
#include "report/model.h"
#include "suite/evidence.h"
#include "suite/run_context.h"
#include "suite/suite_run.h"

namespace gate::suite {

// Fills result.baseline (and the baseline's phases in result.phases) and
// returns the evidence the tests are classified with. Throws Interrupted.
Evidence compare_with_baseline(const config::Consumer& consumer, const git::Checkout& checkout,
                               const RunContext& context, const ToCompare& compare, report::ConsumerResult& result);

}  // namespace gate::suite

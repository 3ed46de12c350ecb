#pragma once
// report.html: one self-contained file (no script, no network): the
// verdict banner, per-consumer tables, a timeline (Gantt) of stages, worker
// batches and containers, a histogram of test durations, the slowest tests,
// the failure output of what blocked, and every test.
#include <nlohmann/json.hpp>

#include <string>

#include "report/model.h"

namespace gate::report {

// `events`: the run's event log (events::snapshot()), for the timeline.
std::string render_html(const Verdict& verdict, const nlohmann::json& events);

}  // namespace gate::report

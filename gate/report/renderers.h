#pragma once
// Renderers of the results model, and writing the report directory.
#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "report/model.h"
#include "report/verdict_json.h"

namespace gate::report {

// "Coverage of the candidate (go): 63.2% of 412 statements" (or why there is none).
std::string coverage_line(const nlohmann::json& coverage);
std::string render_summary_markdown(const Verdict& verdict);

// Writes verdict.json, junit.xml and summary.md into `dir` (created if
// needed) and appends the summary to $GITHUB_STEP_SUMMARY when set.
// Never throws: a report that cannot be written is a warning.
void write_reports(const Verdict& verdict, const std::filesystem::path& dir);

}  // namespace gate::report

#include "report/renderers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/escape.h"
#include "core/events.h"
#include "core/log.h"
#include "report/github.h"
#include "report/html.h"
#include "report/junit.h"

namespace gate::report {
namespace {

// Tests listed per table of summary.md.
constexpr size_t kSummaryRows = 100;

// Text from outside in summary.md is always a code span: no HTML, markdown
// or link in a test name or message is rendered (see core/escape.h).
std::string md_cell(const std::string& text) { return core::markdown_code(text); }

bool write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << log::redact(content);
  out.close();
  if (!out) {
    log::warn(fmt::format("could not write report {}", path.string()));
    return false;
  }
  return true;
}

// The same, for a report written as a stream of lines (redacted line by line).
bool write_lines(const std::filesystem::path& path, const std::function<void(const Line&)>& produce) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  produce([&](std::string_view line) { out << log::redact(line) << '\n'; });
  out.close();
  if (!out) {
    log::warn(fmt::format("could not write report {}", path.string()));
    return false;
  }
  return true;
}

}  // namespace

std::string coverage_line(const nlohmann::json& coverage) {
  const std::string kind = coverage.value("kind", "");
  if (coverage.contains("percent")) {
    return fmt::format(
        "Coverage of the candidate ({}): {:.1f}% of {} statements, from {} counter director{} (profile: {}).", kind,
        coverage["percent"].get<double>(), coverage.value("statements", 0LL), coverage.value("directories", 0),
        coverage.value("directories", 0) == 1 ? "y" : "ies", coverage.value("profile", ""));
  }
  return fmt::format("Coverage of the candidate ({}): none: {}", kind, coverage.value("error", "unknown"));
}

static std::string baseline_markdown(const Verdict& v) {
  std::string out;
  for (const auto& c : v.consumers) {
    if (c.baseline.status == "off" || c.baseline.status == "not-needed") continue;
    if (out.empty())
      out +=
          "### Baseline\n\n| consumer | baseline | status | phases | pre-existing (new / seen before) "
          "|\n|---|---|---|---|---|\n";
    std::string phases;
    for (const auto& p : c.phases) {
      std::string services;
      for (const auto& s : p.services) {
        auto at = s.image.find('@');
        std::string from = at == std::string::npos ? s.image : s.image.substr(at + 1, 19);
        services += fmt::format("{}{} from {}", services.empty() ? "" : ", ", s.name, from);
      }
      phases += fmt::format("{}{} `{}`{}", phases.empty() ? "" : "; ", p.role, p.digest.substr(0, 19),
                            services.empty() ? "" : " (" + services + ")");
    }
    size_t fresh = 0, known = 0;
    for (const auto& t : c.tests) {
      if (t.outcome == Outcome::pre_existing) (t.known_before ? known : fresh)++;
    }
    out += fmt::format("| {} | `{}` | {}{} | {} | {} / {} |\n", md_cell(c.name), c.baseline.digest.substr(0, 19),
                       c.baseline.status, c.baseline.reason.empty() ? "" : ": " + md_cell(c.baseline.reason),
                       md_cell(phases), fresh, known);
  }
  return out.empty() ? out : out + "\n";
}

namespace {

// The banner, the candidate and the reasons.
std::string summary_headline(const Verdict& v) {
  std::string out;
  std::string banner = v.skipped ? "SKIPPED (no relevant change)"
                       : v.exit_code == ExitCode::passed
                           ? (v.dry_run ? "PASSED (dry run, nothing published)" : "PASSED")
                           : fmt::format("{}", exit_code_name(v.exit_code));
  for (auto& c : banner) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out += fmt::format("## gate: {}\n\n", banner);
  if (!v.candidate.repository.empty()) {
    out +=
        fmt::format("Candidate `{}{}`", v.candidate.repository, v.candidate.tag.empty() ? "" : ":" + v.candidate.tag);
    if (!v.candidate.digest.empty()) out += fmt::format(" at `{}`", v.candidate.digest);
    out += "\n\n";
  }
  for (size_t i = 0; i < std::min(v.reasons.size(), kSummaryRows); ++i) {
    out += fmt::format("- {}\n", core::markdown_code(v.reasons[i], 400));
  }
  if (v.reasons.size() > kSummaryRows) {
    out += fmt::format("- ... and {} more reason(s): every one is in verdict.json\n", v.reasons.size() - kSummaryRows);
  }
  if (!v.reasons.empty()) out += "\n";
  return out;
}

// One row per consumer.
std::string summary_consumers(const Verdict& v) {
  std::string out;
  if (!v.consumers.empty()) {
    out += "| consumer | commit | result | tests | failed | time |\n|---|---|---|---|---|---|\n";
    for (const auto& c : v.consumers) {
      size_t failed = 0;
      for (const auto& t : c.tests) failed += (t.status == TestStatus::failed || t.status == TestStatus::error);
      out += fmt::format("| {} | `{}` | {} | {} | {} | {:.1f}s |\n", md_cell(c.name), c.commit.substr(0, 12),
                         consumer_status_name(c.status), c.tests.size(), failed, c.seconds);
    }
    out += "\n";
  }
  return out;
}

// The failed and the warned tests, bounded: GitHub takes a step summary of 1 MiB at most.
std::string summary_tests(const Verdict& v) {
  std::string out;
  size_t failed_rows = 0, failed_more = 0;
  for (const auto& c : v.consumers) {
    for (const auto& t : c.tests) {
      if (!t.blocking()) continue;
      if (failed_rows == kSummaryRows) {
        ++failed_more;
        continue;
      }
      if (failed_rows++ == 0) out += "### Failed tests\n\n| consumer | test | outcome | message |\n|---|---|---|---|\n";
      out += fmt::format("| {} | {} | {} | {} |\n", md_cell(c.name), md_cell(t.id()), t.outcome_word(),
                         md_cell(t.message));
    }
  }
  if (failed_more > 0)
    out += fmt::format(
        "\n... and {} more failed test(s): junit.xml names every one (verdict.json 10,000 a consumer, the rest in "
        "omitted-tests.jsonl).\n",
        failed_more);
  if (failed_rows > 0) out += "\n";
  size_t warning_rows = 0, warning_more = 0;
  for (const auto& c : v.consumers) {
    for (const auto& t : c.tests) {
      using enum Outcome;
      if (t.blocks || t.outcome == unclassified || t.outcome == passed || t.outcome == skipped) continue;
      if (warning_rows == kSummaryRows) {
        ++warning_more;
        continue;
      }
      if (warning_rows++ == 0) out += "### Warnings (do not block)\n\n| consumer | test | outcome |\n|---|---|---|\n";
      out += fmt::format("| {} | {} | {} |\n", md_cell(c.name), md_cell(t.id()), outcome_name(t.outcome));
    }
  }
  if (warning_more > 0) out += fmt::format("\n... and {} more warning(s): junit.xml names every one.\n", warning_more);
  if (warning_rows > 0) out += "\n";
  return out;
}

// The tags moved.
std::string summary_published(const Verdict& v) {
  std::string out;
  if (!v.published.empty()) {
    out += "### Published\n\n| tag | previous digest | new digest |\n|---|---|---|\n";
    for (const auto& p : v.published) {
      out += fmt::format("| `{}` | `{}` | `{}` |\n", p.tag, p.previous_digest.empty() ? "(new)" : p.previous_digest,
                         p.digest);
    }
    out += "\n";
  }
  return out;
}

// The slowest tests and shards.
std::string summary_profile(const Verdict& v) {
  std::string out;
  // The ten slowest, without a string per test: a consumer may have millions.
  std::vector<std::pair<const TestCase*, const ConsumerResult*>> slowest;
  for (const auto& c : v.consumers) {
    for (const auto& t : c.tests) slowest.emplace_back(&t, &c);
  }
  const size_t shown = std::min<size_t>(10, slowest.size());
  std::partial_sort(slowest.begin(), slowest.begin() + static_cast<std::ptrdiff_t>(shown), slowest.end(),
                    [](const auto& a, const auto& b) { return a.first->seconds > b.first->seconds; });
  if (shown > 0) {
    out += "<details><summary>Slowest tests</summary>\n\n| seconds | consumer | test |\n|---|---|---|\n";
    for (size_t i = 0; i < shown; ++i) {
      out += fmt::format("| {:.2f} | {} | {} |\n", slowest[i].first->seconds, md_cell(slowest[i].second->name),
                         md_cell(slowest[i].first->id()));
    }
    out += "\n</details>\n\n";
  }
  bool any_shards = false;
  for (const auto& c : v.consumers) {
    if (!c.profile.contains("shards")) continue;
    if (!any_shards)
      out += "<details><summary>Shards, slowest first</summary>\n\n| consumer | shard | seconds |\n|---|---|---|\n";
    any_shards = true;
    std::vector<std::pair<double, std::string>> shards;
    for (const auto& [shard, seconds] : c.profile["shards"].items()) shards.emplace_back(seconds.get<double>(), shard);
    std::sort(shards.begin(), shards.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [seconds, shard] : shards)
      out += fmt::format("| {} | {} | {:.2f} |\n", md_cell(c.name), shard, seconds);
  }
  if (any_shards) out += "\n</details>\n\n";
  return out;
}

// Coverage, containers and stage timings.
std::string summary_footer(const Verdict& v) {
  std::string out;
  if (!v.coverage.is_null()) out += coverage_line(v.coverage) + "\n\n";
  if (v.containers.contains("created") && v.containers["created"].get<size_t>() > 0) {
    out += fmt::format("Containers of the candidate: {} created, peak {} running at once, {} left behind.\n\n",
                       v.containers["created"].get<size_t>(), v.containers["peak_running"].get<size_t>(),
                       v.containers["left_behind"].size());
  }
  if (!v.stages.empty()) {
    out += "<details><summary>Stage timings</summary>\n\n| stage | start | duration |\n|---|---|---|\n";
    for (const auto& s : v.stages)
      out += fmt::format("| {} | {:.2f}s | {:.2f}s |\n", s.name, s.start_seconds, s.seconds);
    out += "\n</details>\n";
  }
  return out;
}

}  // namespace

std::string render_summary_markdown(const Verdict& v) {
  return summary_headline(v) + summary_consumers(v) + baseline_markdown(v) + summary_tests(v) + summary_published(v) +
         summary_profile(v) + summary_footer(v);
}

void write_reports(const Verdict& verdict, const std::filesystem::path& dir) {
  try {
    std::filesystem::create_directories(dir);
    // Invalid UTF-8 from a consumer's report is replaced, not a reason to write no verdict.
    write_file(dir / "verdict.json", verdict_json_text(verdict) + "\n");
    write_lines(dir / "junit.xml", [&](const Line& line) { write_junit(verdict, line); });
    // The tests verdict.json counted but did not name, for `gate merge` (a
    // file from an earlier run in the directory is removed).
    std::error_code ec;
    std::filesystem::remove(dir / kOmittedTestsFile, ec);
    if (has_omitted_tests(verdict)) {
      write_lines(dir / kOmittedTestsFile, [&](const Line& line) { write_omitted_tests(verdict, line); });
    }
    std::string summary = render_summary_markdown(verdict);
    write_file(dir / "summary.md", summary);
    if (events::enabled()) events::write(dir / "events.jsonl");
    write_file(dir / "report.html", render_html(verdict, events::snapshot()));
    if (const char* step_summary = std::getenv("GITHUB_STEP_SUMMARY"); step_summary && *step_summary) {
      std::ofstream out(step_summary, std::ios::app);
      out << log::redact(summary) << "\n";
    }
    if (const char* actions = std::getenv("GITHUB_ACTIONS"); actions && std::string(actions) == "true") {
      github_annotations(verdict);
      github_outputs(verdict);
    }
  } catch (const std::exception& e) {
    log::warn(fmt::format("could not write reports to {}: {}", dir.string(), e.what()));
  }
}

}  // namespace gate::report

#include "report/html.h"

#include "core/escape.h"
#include "report/renderers.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace gate::report {
namespace {

std::string esc(std::string_view text) { return core::markup_escape(text); }

bool blocking(const TestCase& t) { return t.blocking(); }

struct Bar {
  std::string row;
  double start, end;
  std::string label, css;
};

// The timeline: one row per stage, per worker (its batches), per container.
std::string timeline_svg(const Verdict& v, const nlohmann::json& events) {
  std::vector<Bar> bars;
  for (const auto& s : v.stages)
    bars.push_back({"stage " + s.name, s.start_seconds, s.start_seconds + s.seconds, s.name, "stage"});
  std::map<std::string, double> open_batches, created;
  // Event times are since the process started; stage times since the run
  // started: align on the first stage event.
  double shift = 0;
  for (const auto& e : events) {
    if (e.value("type", "") == "stage") {
      shift = e.value("start", 0.0) - (e.value("t", 0.0) - e.value("seconds", 0.0));
      break;
    }
  }
  for (const auto& e : events) {
    std::string type = e.value("type", "");
    double t = e.value("t", 0.0) + shift;
    if (type == "batch") {
      std::string key = e.value("batch", "");
      if (e.value("event", "") == "start")
        open_batches[key] = t;
      else if (open_batches.count(key)) {
        bars.push_back({fmt::format("worker {}", e.value("worker", 0)), open_batches[key], t, key, "batch"});
      }
    } else if (type == "container") {
      std::string id = e.value("id", "");
      std::string action = e.value("action", "");
      if (action == "create")
        created[id] = t;
      else if ((action == "destroy" || action == "die") && created.count(id)) {
        bars.push_back({"container " + id, created[id], t, id, "container"});
        created.erase(id);
      }
    }
  }
  if (bars.empty()) return "<p>No timing recorded.</p>";
  double end = 0;
  for (const auto& b : bars) end = std::max(end, b.end);
  if (end <= 0) end = 1;
  std::vector<std::string> rows;
  for (const auto& b : bars) {
    if (std::find(rows.begin(), rows.end(), b.row) == rows.end()) rows.push_back(b.row);
  }
  const int width = 1000, label_width = 170, row_height = 18;
  int height = static_cast<int>(rows.size()) * row_height + 24;
  std::string svg = fmt::format(R"(<svg id="timeline" width="{}" height="{}" role="img" aria-label="timeline">)",
                                width + label_width, height);
  for (size_t r = 0; r < rows.size(); ++r) {
    svg += fmt::format(R"(<text x="4" y="{}" class="lbl">{}</text>)", r * row_height + 13, esc(rows[r]));
  }
  for (const auto& b : bars) {
    size_t r = static_cast<size_t>(std::find(rows.begin(), rows.end(), b.row) - rows.begin());
    double x = label_width + b.start / end * width;
    double w = std::max(1.0, (b.end - b.start) / end * width);
    svg += fmt::format(
        R"(<rect class="{}" x="{:.1f}" y="{}" width="{:.1f}" height="{}"><title>{} {:.2f}s-{:.2f}s</title></rect>)",
        b.css, x, r * row_height + 2, w, row_height - 4, esc(b.label), b.start, b.end);
  }
  for (int tick = 0; tick <= 10; ++tick) {
    double x = label_width + tick * width / 10.0;
    svg += fmt::format(R"(<text x="{:.0f}" y="{}" class="tick">{:.1f}s</text>)", x, height - 4, end * tick / 10);
  }
  return svg + "</svg>";
}

std::string histogram_svg(const Verdict& v) {
  static const std::vector<std::pair<double, const char*>> bins = {
      {0.1, "<0.1s"}, {0.5, "<0.5s"}, {1, "<1s"}, {2, "<2s"}, {5, "<5s"}, {10, "<10s"}, {30, "<30s"}, {1e18, "30s+"}};
  std::vector<size_t> counts(bins.size());
  size_t total = 0;
  for (const auto& c : v.consumers) {
    for (const auto& t : c.tests) {
      for (size_t i = 0; i < bins.size(); ++i) {
        if (t.seconds < bins[i].first) {
          ++counts[i];
          break;
        }
      }
      ++total;
    }
  }
  if (total == 0) return "<p>No per-test durations.</p>";
  size_t most = *std::max_element(counts.begin(), counts.end());
  std::string svg = R"(<svg id="histogram" width="640" height="180">)";
  for (size_t i = 0; i < bins.size(); ++i) {
    double h = most ? 140.0 * static_cast<double>(counts[i]) / static_cast<double>(most) : 0;
    svg +=
        fmt::format(R"(<rect class="hist" x="{}" y="{:.1f}" width="60" height="{:.1f}"><title>{} tests</title></rect>)"
                    R"(<text x="{}" y="175" class="tick">{}</text><text x="{}" y="{:.1f}" class="tick">{}</text>)",
                    i * 78 + 10, 150 - h, h, counts[i], i * 78 + 14, bins[i].second, i * 78 + 20, 146 - h, counts[i]);
  }
  return svg + "</svg>";
}

// Per consumer: what failures were compared with, the services of each
// phase and the images they ran from, what baseline classification excused.
std::string baseline_html(const Verdict& v) {
  std::string out;
  for (const auto& c : v.consumers) {
    if (c.baseline.status == "off") continue;
    if (out.empty()) {
      out =
          "<h2 id=\"baseline\">Baseline</h2><table><tr><th>consumer</th><th>baseline digest</th><th>status</th>"
          "<th>phase</th><th>services (image)</th><th>containers created</th><th>pre-existing, new</th>"
          "<th>pre-existing, seen before</th></tr>";
    }
    std::string fresh, known;
    for (const auto& t : c.tests) {
      if (t.outcome == Outcome::pre_existing) (t.known_before ? known : fresh) += esc(t.id()) + "<br>";
    }
    const size_t rows = std::max<size_t>(c.phases.size(), 1);
    for (size_t i = 0; i < rows; ++i) {
      out += "<tr>";
      if (i == 0) {
        out += fmt::format(
            R"(<td rowspan="{0}">{1}</td><td rowspan="{0}"><code>{2}</code></td><td rowspan="{0}">{3}{4}</td>)", rows,
            esc(c.name), esc(c.baseline.digest), esc(c.baseline.status),
            c.baseline.reason.empty() ? "" : ": " + esc(c.baseline.reason));
      }
      if (i < c.phases.size()) {
        const auto& p = c.phases[i];
        std::string services;
        for (const auto& sv : p.services) services += esc(sv.name) + " (<code>" + esc(sv.image) + "</code>)<br>";
        out += fmt::format("<td>{} <code>{}</code></td><td>{}</td><td>{}</td>", esc(p.role),
                           esc(p.digest.substr(0, 19)), services, p.containers_created.size());
      } else {
        out += "<td></td><td></td><td></td>";
      }
      if (i == 0) out += fmt::format(R"(<td rowspan="{0}">{1}</td><td rowspan="{0}">{2}</td>)", rows, fresh, known);
      out += "</tr>";
    }
  }
  return out.empty() ? out : out + "</table>";
}

}  // namespace

// Long by design: the page from top to bottom (style, banner, then each
// section); the sections' own tables are built by the functions above.
std::string render_html(const Verdict& v, const nlohmann::json& events) {
  std::string verdict = v.skipped ? "SKIPPED" : std::string(exit_code_name(v.exit_code));
  for (auto& c : verdict) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string banner_class = v.exit_code == ExitCode::passed ? "pass" : "fail";
  std::string out;
  out.reserve(256 * 1024);
  out +=
      R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>gate: )" + esc(verdict) + R"(</title><style>
body{font-family:system-ui,sans-serif;margin:20px;color:#222}h2{margin-top:28px}
.banner{padding:14px 18px;font-size:22px;font-weight:bold;border-radius:6px;color:#fff}.pass{background:#1a7f37}.fail{background:#cf222e}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f3f3f3}
.stage{fill:#0969da}.batch{fill:#8250df}.container{fill:#bf8700}.hist{fill:#0969da}.lbl,.tick{font-size:11px;fill:#444}
pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:300px;font-size:12px}.b{color:#cf222e;font-weight:bold}.w{color:#9a6700}
</style></head><body>)";
  out += fmt::format(R"(<div class="banner {}" id="verdict">{}</div>)", banner_class, esc(verdict));
  out += fmt::format("<p>Candidate <code>{}</code> ({})</p>", esc(v.candidate.ref()), esc(v.candidate.tag));
  if (!v.coverage.is_null()) out += "<p id=\"coverage\">" + esc(coverage_line(v.coverage)) + "</p>";
  out += "<ul>";
  constexpr size_t kReasonsShown = 100;
  for (size_t i = 0; i < std::min(v.reasons.size(), kReasonsShown); ++i) out += "<li>" + esc(v.reasons[i]) + "</li>";
  if (v.reasons.size() > kReasonsShown) {
    out += fmt::format("<li>... and {} more reason(s): every one is in verdict.json</li>",
                       v.reasons.size() - kReasonsShown);
  }
  out +=
      "</ul><h2>Consumers</h2><table><tr><th>consumer</th><th>commit</th><th>result</th><th>tests</th><th>blocking</"
      "th><th>seconds</th></tr>";
  for (const auto& c : v.consumers) {
    size_t blocked = std::count_if(c.tests.begin(), c.tests.end(), blocking);
    out += fmt::format("<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{:.1f}</td></tr>",
                       esc(c.name), esc(c.commit.substr(0, 12)), consumer_status_name(c.status), c.tests.size(),
                       blocked, c.seconds);
  }
  out += "</table>" + baseline_html(v) + "<h2>Timeline</h2>" + timeline_svg(v, events);
  out += "<h2>Test durations</h2>" + histogram_svg(v);
  // (Pointers, not copies: a consumer may have a million tests.)
  std::vector<std::pair<const TestCase*, const ConsumerResult*>> all;
  for (const auto& c : v.consumers) {
    for (const auto& t : c.tests) all.emplace_back(&t, &c);
  }
  std::vector<std::pair<const TestCase*, const ConsumerResult*>> slowest(std::min<size_t>(15, all.size()));
  std::partial_sort_copy(all.begin(), all.end(), slowest.begin(), slowest.end(),
                         [](const auto& a, const auto& b) { return a.first->seconds > b.first->seconds; });
  out += "<h2>Slowest tests</h2><table><tr><th>seconds</th><th>consumer</th><th>test</th></tr>";
  for (size_t i = 0; i < slowest.size(); ++i) {
    out += fmt::format("<tr><td>{:.2f}</td><td>{}</td><td>{}</td></tr>", slowest[i].first->seconds,
                       esc(slowest[i].second->name), esc(slowest[i].first->id()));
  }
  out += "</table><h2 id=\"failures\">What blocked</h2>";
  size_t shown = 0;
  for (const auto& [t, c] : all) {
    if (!blocking(*t) || shown >= 50) continue;
    ++shown;
    std::string details = t->details.size() > 2000 ? t->details.substr(0, 2000) + "\n[...]" : t->details;
    out += fmt::format(R"(<h3 class="b">{}: {}</h3><p>{}: {}</p><pre>{}</pre>)", esc(c->name), esc(t->id()),
                       esc(t->outcome_word()), esc(t->message), esc(details));
  }
  for (const auto& c : v.consumers) {
    if (!c.passed() && std::none_of(c.tests.begin(), c.tests.end(), blocking)) {
      ++shown;
      std::string reasons;
      for (const auto& r : c.reasons) reasons += r + "\n";
      out += fmt::format(
          R"(<h3 class="b">{}: {}</h3><pre>{}</pre>)", esc(c.name), consumer_status_name(c.status),
          esc(reasons + c.output_tail.substr(c.output_tail.size() > 2000 ? c.output_tail.size() - 2000 : 0)));
    }
  }
  if (shown == 0) out += "<p>Nothing.</p>";
  // Every test, up to the bound verdict.json keeps (every non-pass first):
  // a page of a million rows helps nobody and costs a browser minutes.
  out += "<h2>Every test</h2><table><tr><th>consumer</th><th>test</th><th>outcome</th><th>s</th></tr>";
  size_t not_listed = 0;
  for (const auto& c : v.consumers) {
    const std::vector<bool> keep = listed_tests(c.tests);
    not_listed += c.tests_omitted;
    for (size_t i = 0; i < c.tests.size(); ++i) {
      if (!keep[i]) {
        ++not_listed;
        continue;
      }
      const TestCase& t = c.tests[i];
      out += fmt::format("<tr><td>{}</td><td>{}</td><td{}>{}</td><td>{:.2f}</td></tr>", esc(c.name), esc(t.id()),
                         blocking(t) ? " class=\"b\"" : (excused(t.outcome) ? " class=\"w\"" : ""), t.outcome_word(),
                         t.seconds);
    }
  }
  out += "</table>";
  if (not_listed > 0)
    out += fmt::format("<p id=\"not-listed\">{} more passing test(s) not listed here: junit.xml names every test.</p>",
                       not_listed);
  out += "</body></html>\n";
  return out;
}

}  // namespace gate::report

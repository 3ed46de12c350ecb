#include "core/log.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <vector>

#include "core/encoding.h"
#include "core/escape.h"

namespace gate::log {
namespace {

std::mutex g_mutex;
std::vector<std::string> g_secrets;
bool g_quiet = false;

// Every line gate prints starts with its prefix, whatever a message holds: a
// CI runner reads workflow commands ("::error ...") from line starts. A
// message of several lines (gate's own accounts) is printed line by line,
// each prefixed; within a line, control characters are escaped.
void write_line(std::string_view prefix, std::string_view message) {
  std::string text = redact(message);
  while (text.size() > 1 && text.back() == '\n') text.pop_back();  // no empty last line
  std::string out;
  for (size_t start = 0; start <= text.size();) {
    size_t end = std::min(text.find('\n', start), text.size());
    out.append(prefix);
    out += core::terminal_line(std::string_view(text).substr(start, end - start));
    out += '\n';
    start = end + 1;
  }
  std::lock_guard lock(g_mutex);
  std::fputs(out.c_str(), stderr);
  std::fflush(stderr);
}

// The forms in which a secret leaves a process: as is, percent-encoded (in a
// URL) and base64 at each of the three alignments it can have inside a longer
// encoded text ("user:password" in an Authorization header or in docker's
// config.json). Of each encoding only the characters that depend on the
// secret alone are kept, so the neighbours do not matter.
std::vector<std::string> forms_of(const std::string& secret) {
  std::vector<std::string> forms{secret};
  if (std::string url = core::percent_encode(secret); url != secret) forms.push_back(url);
  for (size_t offset = 0; offset < 3; ++offset) {
    std::string encoded = core::base64_encode(std::string(offset, '\0') + secret);
    size_t skip = offset == 0 ? 0 : offset + 1;       // characters holding bits of the prefix
    size_t whole = (offset + secret.size()) * 8 / 6;  // characters complete before the suffix
    if (whole > skip && whole - skip >= 8) forms.push_back(encoded.substr(skip, whole - skip));
  }
  return forms;
}

}  // namespace

void info(std::string_view message) {
  if (!g_quiet) write_line("gate: ", message);
}
void warn(std::string_view message) { write_line("gate: warning: ", message); }
void error(std::string_view message) { write_line("gate: error: ", message); }

void child_line(std::string_view prefix, std::string_view line) {
  if (g_quiet) return;
  write_line(fmt::format("[{}] ", prefix), line);
}

void add_secret(std::string secret) {
  if (secret.size() < 3) return;  // too short to redact without mangling output
  std::lock_guard lock(g_mutex);
  for (auto& form : forms_of(secret)) {
    if (std::find(g_secrets.begin(), g_secrets.end(), form) == g_secrets.end()) g_secrets.push_back(std::move(form));
  }
  // Longest first: a form that contains another is replaced whole.
  std::stable_sort(g_secrets.begin(), g_secrets.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

size_t longest_secret() {
  std::lock_guard lock(g_mutex);
  return g_secrets.empty() ? 0 : g_secrets.front().size();
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::vector<std::string> secrets;
  {
    std::lock_guard lock(g_mutex);
    secrets = g_secrets;
  }
  for (const auto& secret : secrets) {
    for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos)) {
      out.replace(pos, secret.size(), "[redacted]");
    }
  }
  return out;
}

void set_quiet(bool quiet) { g_quiet = quiet; }

}  // namespace gate::log

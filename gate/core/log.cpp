#include "core/log.h"

#include <cstdio>
#include <mutex>
#include <vector>

namespace gate::log {
namespace {

std::mutex g_mutex;
std::vector<std::string> g_secrets;
bool g_quiet = false;

void write_line(std::string_view prefix, std::string_view message) {
  std::string line = redact(message);
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "%.*s%s\n", static_cast<int>(prefix.size()), prefix.data(), line.c_str());
  std::fflush(stderr);
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
  g_secrets.push_back(std::move(secret));
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

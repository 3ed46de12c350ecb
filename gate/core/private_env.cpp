#include "core/private_env.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string_view>

extern char** environ;

namespace gate::core {
namespace {

std::mutex g_mutex;
std::set<std::string, std::less<>> g_private;

}  // namespace

bool is_private(const std::string& name) {
  std::lock_guard lock(g_mutex);
  return g_private.count(name) > 0;
}

void keep_private(const std::string& name) {
  {
    std::lock_guard lock(g_mutex);
    if (!g_private.insert(name).second) return;  // moved already
  }
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    if (text.size() <= name.size() || text.compare(0, name.size(), name) != 0 || text[name.size()] != '=') continue;
    char* value = *entry + name.size() + 1;
    const size_t length = std::strlen(value);
    // putenv points environ at a copy in gate's heap (kept for the life of
    // the process, as putenv requires); the old bytes stay where the kernel
    // reads them until wiped.
    char* moved = ::strdup(*entry);
    if (moved == nullptr || ::putenv(moved) != 0) return;
    std::memset(value, 0, length);
    return;
  }
}

}  // namespace gate::core

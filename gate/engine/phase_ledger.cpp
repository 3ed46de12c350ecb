#include "engine/phase_ledger.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/log.h"

namespace gate::engine {

namespace {

using nlohmann::json;

// The kernel's start time of a process (field 22 of /proc/<pid>/stat): with
// the pid it names one process, even after its pid is given to another.
std::string start_time_of(long pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!std::getline(in, stat)) return "";
  auto close = stat.rfind(')');  // the command name may hold spaces and parens
  if (close == std::string::npos) return "";
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return field;
  }
  return "";
}

bool still_running(const json& phase) {
  const long pid = phase.value("pid", 0L);
  return pid > 0 && start_time_of(pid) == phase.value("started", std::string());
}

std::vector<std::string> strings(const json& state, const char* key) {
  std::vector<std::string> out;
  if (state.contains(key) && state[key].is_array()) {
    for (const auto& v : state[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Everyone sharing the engine writes here, whichever user runs gate.
void open_to_all(const std::filesystem::path& path, mode_t mode) { ::chmod(path.c_str(), mode); }

class Ledger {
 public:
  // Taken through an interrupt: leaving must still remove what a phase left.
  explicit Ledger(const std::filesystem::path& dir) : dir_(dir), lock_(prepare(dir) / "ledger.lock", {}, true) {
    open_to_all(dir_ / "ledger.lock", 0666);
    std::ifstream in(dir_ / "ledger.json");
    if (in) {
      state_ = json::parse(in, nullptr, /*allow_exceptions=*/false);
      // A record gate cannot read holds no phase it could honour: it is
      // started afresh, and its leftovers stay (never someone else's taken).
      if (!state_.is_object()) {
        log::warn(fmt::format("{} is not a ledger gate wrote: starting it afresh", (dir_ / "ledger.json").string()));
        state_ = json::object();
      }
    } else {
      state_ = json::object();
    }
    if (!state_.contains("phases") || !state_["phases"].is_array()) state_["phases"] = json::array();
  }

  json& phases() { return state_["phases"]; }

  // Phases of processes that ended without leaving (killed) are dropped.
  void forget_the_dead() {
    json alive = json::array();
    for (const auto& phase : phases())
      if (still_running(phase)) alive.push_back(phase);
    if (alive.size() != phases().size()) {
      log::warn(fmt::format("engine ledger: {} phase(s) of gate processes that were killed were dropped",
                            phases().size() - alive.size()));
    }
    phases() = alive;
  }

  // A phase begins on an idle engine: what a killed gate left is not taken
  // now (the user may have started containers of those images since; a
  // killed gate's leftovers are what gate cannot vouch for), only forgotten.
  void start_afresh_if_idle() {
    if (!phases().empty()) return;
    state_["refs"] = json::array();
    state_["before"] = json::array();
  }

  // With no phase running, what is new since the first began is removed.
  std::vector<std::string> sweep_if_idle(const Engine& engine) {
    if (!phases().empty()) return {};
    std::vector<std::string> removed;
    const auto refs = strings(state_, "refs");
    const auto before = strings(state_, "before");
    if (!refs.empty()) {
      for (const auto& id : engine.containers_from(refs))
        if (!contains(before, id)) removed.push_back(id);
      engine.remove_containers(removed);
    }
    state_["refs"] = json::array();
    state_["before"] = json::array();
    return removed;
  }

  // Containers of refs no phase used yet are the user's (or another run's).
  void note_new_refs(const Engine& engine, const std::vector<std::string>& refs) {
    auto seen = strings(state_, "refs");
    std::vector<std::string> fresh;
    for (const auto& ref : refs)
      if (!contains(seen, ref) && !contains(fresh, ref)) fresh.push_back(ref);
    if (fresh.empty()) return;
    auto before = strings(state_, "before");
    for (const auto& id : engine.containers_from(fresh))
      if (!contains(before, id)) before.push_back(id);
    seen.insert(seen.end(), fresh.begin(), fresh.end());
    state_["refs"] = seen;
    state_["before"] = before;
  }

  void save() {
    const auto tmp = dir_ / fmt::format("ledger.json.{}", ::getpid());
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << state_.dump();
      if (!out) throw InfraError(fmt::format("cannot write the engine ledger {}", tmp.string()));
    }
    open_to_all(tmp, 0666);
    std::error_code ec;
    std::filesystem::rename(tmp, dir_ / "ledger.json", ec);
    if (ec) throw InfraError(fmt::format("cannot write the engine ledger in {}: {}", dir_.string(), ec.message()));
  }

 private:
  static std::filesystem::path prepare(const std::filesystem::path& dir) {
    std::error_code ec;
    if (std::filesystem::create_directories(dir, ec)) open_to_all(dir, 01777);
    return dir;
  }

  std::filesystem::path dir_;
  FileLock lock_;
  json state_;
};

std::atomic<unsigned> g_next_ticket{0};

}  // namespace

PhaseLedger::PhaseLedger(std::filesystem::path dir) : dir_(std::move(dir)) {}

std::filesystem::path PhaseLedger::default_dir() {
  if (const char* dir = std::getenv("GATE_LEDGER_DIR"); dir && *dir) return dir;
  // FNV-1a: a stable name per engine, the same in every gate build.
  const char* host = std::getenv("DOCKER_HOST");
  std::string engine = host && *host ? host : "default";
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : engine) hash = (hash ^ c) * 1099511628211ull;
  return std::filesystem::temp_directory_path() / fmt::format("gate-ledger-{:016x}", hash);
}

std::string PhaseLedger::enter(const Engine& engine, const std::vector<std::string>& refs) {
  Ledger ledger(dir_);
  ledger.forget_the_dead();
  ledger.start_afresh_if_idle();
  ledger.note_new_refs(engine, refs);
  const std::string ticket = fmt::format("{}-{}", ::getpid(), g_next_ticket++);
  ledger.phases().push_back({{"ticket", ticket},
                             {"pid", static_cast<long>(::getpid())},
                             {"started", start_time_of(::getpid())},
                             {"refs", refs}});
  ledger.save();
  return ticket;
}

std::vector<std::string> PhaseLedger::leave(const Engine& engine, const std::string& ticket) {
  Ledger ledger(dir_);
  auto& phases = ledger.phases();
  phases.erase(std::remove_if(phases.begin(), phases.end(),
                              [&](const json& phase) { return phase.value("ticket", std::string()) == ticket; }),
               phases.end());
  ledger.forget_the_dead();
  auto removed = ledger.sweep_if_idle(engine);
  ledger.save();
  return removed;
}

}  // namespace gate::engine

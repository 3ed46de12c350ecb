// Consumers run at once: a phase that must run alone waits for the others
// and keeps them out; leftovers are removed by the last phase running, and
// never a container another running phase may own, of this process or
// another gate's on the same engine.
#include "suite/phase_guard.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "engine/phase_ledger.h"

using namespace gate;
using namespace gate::suite;

namespace {

// Containers "exist" when created; remove_containers takes them away.
class FakeEngine : public engine::Engine {
 public:
  mutable std::mutex mutex;
  mutable std::vector<std::string> containers;
  mutable std::vector<std::string> removed;
  void create(const std::string& id) {
    std::lock_guard lock(mutex);
    containers.push_back(id);
  }
  void check_reachable() const override {}
  void build(const engine::BuildRequest&) const override {}
  void push(const std::string&, const std::filesystem::path&) const override {}
  std::vector<std::string> containers_from(const std::vector<std::string>&) const override {
    std::lock_guard lock(mutex);
    return containers;
  }
  std::string image_id(const std::string&) const override { return ""; }
  std::string run_detached(const std::string&, const std::vector<int>&, const std::map<std::string, std::string>&,
                           const std::string&, const std::vector<std::string>&,
                           const std::map<int, int>&) const override {
    return "";
  }
  std::string host_port(const std::string&, int) const override { return ""; }
  bool is_running(const std::string&) const override { return false; }
  std::string logs_tail(const std::string&, int) const override { return ""; }
  void stop(const std::string&, int) const override {}
  void remove_containers(const std::vector<std::string>& ids) const override {
    std::lock_guard lock(mutex);
    for (const auto& id : ids) {
      removed.push_back(id);
      std::erase(containers, id);
    }
  }
};

// Each test (a process of its own under ctest) keeps its ledger apart from
// the gates running on the machine.
std::filesystem::path own_ledger() {
  // Removed when the test's process ends (a forked child's _exit skips it).
  static const struct Ledger {
    std::filesystem::path dir;
    Ledger() {
      char tmpl[] = "/tmp/gate-ledger-test-XXXXXX";
      dir = ::mkdtemp(tmpl);
      ::setenv("GATE_LEDGER_DIR", dir.c_str(), 1);
    }
    ~Ledger() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } ledger;
  return ledger.dir;
}

}  // namespace

TEST(PhaseGuard, LeftoversGoWithTheLastPhaseRunningNotBefore) {
  own_ledger();
  FakeEngine engine;
  engine.create("users-own");  // there before: never removed
  const std::vector<std::string> refs{"image@sha256:1"};
  auto a = std::make_unique<PhaseEntry>(false, &engine, refs);
  auto b = std::make_unique<PhaseEntry>(false, &engine, refs);
  engine.create("left-by-a");
  engine.create("service-of-b");  // b still runs: a must not take it
  EXPECT_TRUE(a->leave().empty());
  EXPECT_TRUE(engine.removed.empty());
  auto left = b->leave();
  EXPECT_EQ(left, (std::vector<std::string>{"left-by-a", "service-of-b"}));
  EXPECT_EQ(engine.containers, std::vector<std::string>{"users-own"});
}

TEST(PhaseGuard, APhaseAloneWaitsForTheOthersAndKeepsThemOut) {
  own_ledger();
  FakeEngine engine;
  const std::vector<std::string> refs{"image@sha256:1"};
  auto candidate = std::make_unique<PhaseEntry>(false, &engine, refs);
  std::atomic<bool> baseline_running{false}, other_running{false};
  std::thread baseline([&] {
    PhaseEntry alone(true, &engine, refs);
    baseline_running = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(other_running) << "a phase ran beside the one that must run alone";
    baseline_running = false;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(baseline_running) << "it began while another phase ran";
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // after the baseline asked
    PhaseEntry later(false, &engine, refs);
    other_running = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  candidate->leave();
  baseline.join();
  other.join();
  EXPECT_TRUE(other_running);
}

// Another gate process on the engine has a phase running: this one's end
// removes nothing (the new containers may be that process's service). When
// that process is killed, the phase still running on the engine removes
// what both left when it ends, and never what was there before; with none
// running, a killed gate's phase is forgotten and its leftovers are not
// taken later by a gate that cannot vouch for them.
TEST(PhaseLedger, AnotherProcessPhaseKeepsItsContainersUntilItEnds) {
  const auto dir = own_ledger() / "cross";
  FakeEngine engine;
  engine.create("users-own");
  const std::vector<std::string> refs{"image@sha256:1"};
  int ready[2], hold[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(hold), 0);
  pid_t other = ::fork();
  ASSERT_GE(other, 0);
  if (other == 0) {  // the other gate: enters and stays until killed
    engine::PhaseLedger(dir).enter(engine, refs);
    char c = 1;
    (void)!::write(ready[1], &c, 1);
    (void)!::read(hold[0], &c, 1);
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  engine::PhaseLedger ledger(dir);
  auto mine = ledger.enter(engine, refs);
  engine.create("left-by-this-one");
  engine.create("service-of-the-other");
  EXPECT_TRUE(ledger.leave(engine, mine).empty()) << "removed while another gate's phase ran";
  EXPECT_TRUE(engine.removed.empty());

  auto last = ledger.enter(engine, refs);  // begins while the other runs
  ::kill(other, SIGKILL);                  // ends without leaving
  ::waitpid(other, nullptr, 0);
  engine.create("left-by-last");
  EXPECT_EQ(ledger.leave(engine, last),
            (std::vector<std::string>{"left-by-this-one", "service-of-the-other", "left-by-last"}));
  EXPECT_EQ(engine.containers, std::vector<std::string>{"users-own"});
}

TEST(PhaseLedger, AKilledGatesPhaseIsForgottenNotSweptLater) {
  const auto dir = own_ledger() / "killed";
  FakeEngine engine;
  const std::vector<std::string> refs{"image@sha256:1"};
  pid_t killed = ::fork();
  ASSERT_GE(killed, 0);
  if (killed == 0) {
    engine::PhaseLedger(dir).enter(engine, refs);
    ::pause();
    ::_exit(0);
  }
  // Until its record is written, the ledger is locked or holds no phase.
  for (int i = 0; i < 200 && !std::filesystem::exists(dir / "ledger.json"); ++i) ::usleep(10000);
  ::usleep(50000);
  ::kill(killed, SIGKILL);
  ::waitpid(killed, nullptr, 0);
  engine.create("left-by-the-killed-gate");  // or the user's, since: gate cannot tell
  engine::PhaseLedger ledger(dir);
  auto next = ledger.enter(engine, refs);
  EXPECT_TRUE(engine.removed.empty());
  EXPECT_TRUE(ledger.leave(engine, next).empty());
  EXPECT_EQ(engine.containers, std::vector<std::string>{"left-by-the-killed-gate"});
}

// A ledger gate cannot read is started afresh, and takes nothing.
TEST(PhaseLedger, AnUnreadableLedgerTakesNothing) {
  const auto dir = own_ledger() / "garbled";
  FakeEngine engine;
  engine.create("users-own");
  engine::PhaseLedger ledger(dir);
  auto ticket = ledger.enter(engine, {"image@sha256:1"});
  std::ofstream(dir / "ledger.json") << "{not json";
  engine.create("new");
  EXPECT_TRUE(ledger.leave(engine, ticket).empty());
  EXPECT_EQ(engine.containers.size(), 2u);
}

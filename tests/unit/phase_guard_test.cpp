// Consumers run at once: a phase that must run alone waits for the others
// and keeps them out; leftovers are removed by the last phase running, and
// never a container another running phase may own.
#include "suite/phase_guard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

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

}  // namespace

TEST(PhaseGuard, LeftoversGoWithTheLastPhaseRunningNotBefore) {
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

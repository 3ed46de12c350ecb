#include "engine/container_watch.h"

#include <gtest/gtest.h>

namespace gate::engine {
namespace {

constexpr long long kSecond = 1'000'000'000;

TEST(ContainerStartups, PlainUntilRunningServiceUntilReadyNeverReadyNotCounted) {
  const std::string plain(64, 'a'), service(64, 'b'), never_ready(64, 'c');
  std::vector<ContainerEvent> events = {
      {plain, "create", "reg/emu@sha256:1", 0, false},
      {service, "create", "reg/emu@sha256:1", 0, true},
      {never_ready, "create", "reg/emu@sha256:1", 0, true},
      {plain, "start", "", kSecond / 5, false},     // 0.2 s: running
      {service, "start", "", kSecond / 10, false},  // running, not ready yet
      {never_ready, "start", "", kSecond / 10, false},
      {service.substr(0, 12), "ready", "", 3 * kSecond / 2, true},  // 1.5 s: ready (id prefix)
      {plain, "die", "", 2 * kSecond, false},
      {service, "die", "", 2 * kSecond, false},
      {never_ready, "die", "", 2 * kSecond, false},
      {plain, "destroy", "", 3 * kSecond, false},
      {service, "destroy", "", 3 * kSecond, false},
  };
  ContainerReport report = summarize(events);
  EXPECT_EQ(report.created, 3u);
  EXPECT_EQ(report.started, 3u);
  EXPECT_EQ(report.peak_running, 3u);
  ASSERT_EQ(report.left_behind.size(), 1u);
  EXPECT_EQ(report.left_behind[0], never_ready);
  ASSERT_EQ(report.startups.count("reg/emu@sha256:1"), 1u);
  const ImageStartups& s = report.startups["reg/emu@sha256:1"];
  EXPECT_EQ(s.count, 2u) << "the service that never became ready is not a successful start-up";
  EXPECT_DOUBLE_EQ(s.min, 0.2);
  EXPECT_DOUBLE_EQ(s.max, 1.5);
  EXPECT_DOUBLE_EQ(s.mean, 0.85);
}

}  // namespace
}  // namespace gate::engine

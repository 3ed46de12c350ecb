#include "core/duration.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

TEST(Duration, ParsesUnitsAndSums) {
  EXPECT_EQ(gate::parse_duration("90s"), std::chrono::milliseconds(90s));
  EXPECT_EQ(gate::parse_duration("15m"), std::chrono::milliseconds(15min));
  EXPECT_EQ(gate::parse_duration("1h30m"), std::chrono::milliseconds(90min));
  EXPECT_EQ(gate::parse_duration("500ms"), std::chrono::milliseconds(500));
}

TEST(Duration, RejectsBareNumbersUnknownUnitsAndZero) {
  EXPECT_FALSE(gate::parse_duration("15"));
  EXPECT_FALSE(gate::parse_duration("15 minutes"));
  EXPECT_FALSE(gate::parse_duration("3d"));
  EXPECT_FALSE(gate::parse_duration("0s"));
  EXPECT_FALSE(gate::parse_duration(""));
  EXPECT_FALSE(gate::parse_duration("-5s"));
}

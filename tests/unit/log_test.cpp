#include "core/log.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/encoding.h"

using namespace gate;

TEST(Redact, EveryFormOfASecret) {
  const std::string secret = "pw+/Secret-2026-xyz";
  log::add_secret(secret);
  for (const char* prefix : {"", "u:", "gate-bot:", "ab"}) {
    std::string basic = core::base64_encode(std::string(prefix) + secret);
    std::string redacted = log::redact("Authorization: Basic " + basic);
    // What is left of the encoding cannot give the secret back.
    EXPECT_EQ(core::base64_decode(redacted.substr(21)).find("Secret-2026"), std::string::npos)
        << "prefix '" << prefix << "': " << redacted;
  }
  EXPECT_EQ(log::redact("url https://x:" + core::percent_encode(secret) + "@host/"), "url https://x:[redacted]@host/");
  EXPECT_EQ(log::redact("env PASSWORD=" + secret), "env PASSWORD=[redacted]");
}

TEST(LogLines, EveryLineStartsWithThePrefix) {
  testing::internal::CaptureStderr();
  log::error("blocked: test_a\n::error file=gate.yaml::owned\r::warning::x \x1b[31mred\n");
  std::string out = testing::internal::GetCapturedStderr();
  std::istringstream lines(out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    EXPECT_EQ(line.rfind("gate: error: ", 0), 0u) << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  }
  EXPECT_EQ(count, 2) << out;
}

#include "registry/auth.h"

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "core/error.h"
#include "git/mirror.h"

using namespace gate::registry;

TEST(Challenge, BearerWithSeveralScopesAndHostPortNames) {
  auto c = parse_challenge(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:127.0.0.1:5000/acme/emu:pull,push repository:acme/src:pull")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->param("realm"), "https://auth.example.com/token");
  EXPECT_EQ(c->param("service"), "registry.example.com");
  auto scopes = c->scopes();
  ASSERT_EQ(scopes.size(), 2u);
  EXPECT_EQ(scopes[0], "repository:127.0.0.1:5000/acme/emu:pull,push");
  EXPECT_EQ(scopes[1], "repository:acme/src:pull");
}

TEST(Challenge, BasicAndUnquotedValuesAndCase) {
  auto c = parse_challenge(R"(BASIC Realm=gate-test , charset="UTF-8")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->param("realm"), "gate-test");
  EXPECT_EQ(c->param("charset"), "UTF-8");
  EXPECT_FALSE(parse_challenge("Negotiate abc"));
  EXPECT_FALSE(parse_challenge(""));
}

TEST(Token, TokenOrAccessTokenAndDefaultExpiry) {
  auto now = std::chrono::steady_clock::now();
  auto t = parse_token_response(R"({"token":"abc123xyz"})", now);
  EXPECT_EQ(t.value, "abc123xyz");
  // 60 s default, renewed 10 s early.
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(t.expires - now).count(), 50);
  auto a = parse_token_response(R"({"access_token":"def456uvw","expires_in":300})", now);
  EXPECT_EQ(a.value, "def456uvw");
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(a.expires - now).count(), 290);
  EXPECT_THROW(parse_token_response(R"({"nothing":1})", now), gate::InfraError);
  EXPECT_THROW(parse_token_response("<html>", now), gate::InfraError);
}

TEST(Base64, RoundTripsEveryLength) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "gate-bot:pässword!"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  }
  EXPECT_EQ(base64_encode("gate-bot:pw"), "Z2F0ZS1ib3Q6cHc=");
}

TEST(Encoding, PercentRoundTripAndTheUserinfoOfAUrl) {
  for (const std::string& s : {std::string("plain"), std::string("p@ss:w/rd+%"), std::string("nul\0byte", 8)}) {
    EXPECT_EQ(gate::core::percent_decode(gate::core::percent_encode(s)), s);
  }
  EXPECT_EQ(gate::core::percent_decode("100%zz%4"), "100%zz%4");
  auto parts = gate::git::split_userinfo("https://ci%40acme:t%2Bk@git.example/org/app.git");
  EXPECT_EQ(parts.url, "https://git.example/org/app.git");
  EXPECT_EQ(parts.user, "ci@acme");
  EXPECT_EQ(parts.password, "t+k");
  EXPECT_EQ(gate::git::split_userinfo("git://host/a@b.git").url, "git://host/a@b.git")
      << "an @ after the host is no userinfo";
}

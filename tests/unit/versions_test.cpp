// Which tags are the releases users run: the newest by version order,
// whole-name matches of the pattern only; and each version as a consumer.
#include "pipeline/versions.h"

#include <gtest/gtest.h>

#include "core/error.h"

using namespace gate;
using namespace gate::pipeline;

namespace {
const std::string kDefault = config::Consumer{}.release_pattern;
}

TEST(Versions, NewestByVersionOrderNotByText) {
  std::vector<std::string> tags{"v1.2", "v1.9", "v1.10", "v0.9.1", "v2.0", "v1.10.1"};
  EXPECT_EQ(newest_releases(tags, kDefault, 3), (std::vector<std::string>{"v2.0", "v1.10.1", "v1.10"}));
  EXPECT_EQ(newest_releases(tags, kDefault, 10).back(), "v0.9.1");
}

TEST(Versions, PreReleasesAndOtherTagsAreNoReleases) {
  std::vector<std::string> tags{"v3.0-rc1", "nightly", "v2.0", "release-1", "2.1", "xv9.0"};
  EXPECT_EQ(newest_releases(tags, kDefault, 5), (std::vector<std::string>{"2.1", "v2.0"}));
  EXPECT_EQ(newest_releases(tags, R"(v[0-9.]+(-rc[0-9]+)?)", 1), std::vector<std::string>{"v3.0-rc1"});
  EXPECT_TRUE(newest_releases({}, kDefault, 2).empty());
}

TEST(Versions, EachVersionIsAConsumerAfterItsOwn) {
  config::Config config;
  config.consumers.resize(2);
  config.consumers[0].name = "cli";
  config.consumers[0].ref = "main";
  config.consumers[0].releases = 2;
  config.consumers[0].refs = {"stable"};
  config.consumers[1].name = "other";
  add_versions(config, {{"cli", {"v2.0", "v1.10", "stable"}}}, "test");
  std::vector<std::string> names, refs;
  for (const auto& c : config.consumers) {
    names.push_back(c.name);
    refs.push_back(c.ref);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"cli", "cli@v2.0", "cli@v1.10", "cli@stable", "other"}));
  EXPECT_EQ(refs, (std::vector<std::string>{"main", "refs/tags/v2.0", "refs/tags/v1.10", "stable", ""}));
  EXPECT_EQ(config.consumers[1].version_of, "cli");
  EXPECT_EQ(config.consumers[1].releases, 0);
  EXPECT_THROW(add_versions(config, {{"nobody", {"v1"}}}, "plan.json"), UsageError);
  EXPECT_THROW(add_versions(config, {{"other", {"a/b"}}}, "plan.json"), UsageError);
}

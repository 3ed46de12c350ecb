// The live set of shared durations: which artifacts a reader merges, from a
// tag listing and what each artifact it reads says it subsumes.
#include "pipeline/shared_timings.h"

#include <gtest/gtest.h>

#include <map>

using gate::pipeline::live_timings;
using gate::pipeline::parse_timings_tag;
using gate::pipeline::Subsumes;
using gate::pipeline::timings_tag_prefix;
using gate::pipeline::TimingsTag;

namespace {

std::string tag_of(const std::string& consumer, long long ms, const std::string& random = "0000abcd") {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%013lld", ms);
  return timings_tag_prefix(consumer) + stamp + "-" + random;
}

// Live tags, newest first, given what each artifact says; `reads` counts the manifests read.
std::vector<std::string> live_of(const std::vector<std::string>& tags, const std::map<std::string, Subsumes>& says,
                                 int* reads = nullptr) {
  std::vector<std::string> out;
  for (const auto& t : live_timings("app", tags, [&](const TimingsTag& t) -> std::optional<Subsumes> {
         if (reads) ++*reads;
         auto it = says.find(t.tag);
         if (it == says.end()) return std::nullopt;
         return it->second;
       })) {
    out.push_back(t.tag);
  }
  return out;
}

}  // namespace

TEST(SharedTimings, TagsAreTheConsumersOwnAndValid) {
  auto tag = tag_of("app", 1764700000000);
  ASSERT_TRUE(parse_timings_tag("app", tag));
  EXPECT_EQ(parse_timings_tag("app", tag)->written_ms, 1764700000000);
  // "app-b"'s tags are not "app"'s, though they share the prefix.
  EXPECT_FALSE(parse_timings_tag("app", tag_of("app-b", 1764700000000)));
  EXPECT_FALSE(parse_timings_tag("app", "latest"));
  EXPECT_FALSE(parse_timings_tag("app", tag + "0"));
  // A name a tag cannot hold is changed and hashed: still valid, still distinct.
  auto odd = timings_tag_prefix("team/app x");
  EXPECT_EQ(odd.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"),
            std::string::npos);
  EXPECT_NE(odd, timings_tag_prefix("team_app_x"));
  EXPECT_LE(timings_tag_prefix(std::string(300, 'a')).size() + 22, 128u);
}

TEST(SharedTimings, ANewerArtifactHidesWhatItSubsumes) {
  auto old1 = tag_of("app", 1000), old2 = tag_of("app", 2000), recent = tag_of("app", 9000), top = tag_of("app", 9500);
  std::map<std::string, Subsumes> says{{top, {2000, {recent}}}};
  int reads = 0;
  EXPECT_EQ(live_of({old1, old2, recent, top, "latest"}, says, &reads), std::vector<std::string>{top});
  EXPECT_EQ(reads, 1);  // what `top` subsumes is not even read
}

TEST(SharedTimings, TwoWritersAtOnceBothStayLive) {
  // Each listed before the other wrote: neither names the other.
  auto base = tag_of("app", 1000), a = tag_of("app", 9000, "aaaaaaaa"), b = tag_of("app", 9001, "bbbbbbbb");
  std::map<std::string, Subsumes> says{{base, {0, {}}}, {a, {500, {base}}}, {b, {500, {base}}}};
  EXPECT_EQ(live_of({base, a, b}, says), (std::vector<std::string>{b, a}));
}

TEST(SharedTimings, AnArtifactGoneSinceTheListingIsSkipped) {
  auto gone = tag_of("app", 9000), kept = tag_of("app", 1000);
  std::map<std::string, Subsumes> says{{kept, {0, {}}}};
  EXPECT_EQ(live_of({gone, kept}, says), std::vector<std::string>{kept});
}

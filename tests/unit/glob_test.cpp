#include "core/glob.h"

#include <gtest/gtest.h>

using gate::glob_match;

TEST(Glob, DoubleStarSpansSegmentsIncludingNone) {
  EXPECT_TRUE(glob_match("src/**", "src/a.c"));
  EXPECT_TRUE(glob_match("src/**", "src/deep/er/a.c"));
  EXPECT_TRUE(glob_match("src/**/x.c", "src/x.c"));
  EXPECT_TRUE(glob_match("src/**/x.c", "src/a/b/x.c"));
  EXPECT_TRUE(glob_match("**/*.go", "cmd/main.go"));
  EXPECT_TRUE(glob_match("**/*.go", "main.go"));
  EXPECT_TRUE(glob_match("**", "anything/at/all"));
  EXPECT_FALSE(glob_match("src/**", "docs/src/a.c"));
}

TEST(Glob, StarAndQuestionStayInOneSegment) {
  EXPECT_TRUE(glob_match("*.md", "README.md"));
  EXPECT_FALSE(glob_match("*.md", "docs/README.md"));
  EXPECT_TRUE(glob_match("src/?.c", "src/a.c"));
  EXPECT_FALSE(glob_match("src/?.c", "src/ab.c"));
  EXPECT_FALSE(glob_match("src?a.c", "src/a.c"));
  EXPECT_TRUE(glob_match("Dockerfile", "Dockerfile"));
  EXPECT_FALSE(glob_match("Dockerfile", "Dockerfile.dev"));
}

TEST(Glob, CharacterSets) {
  EXPECT_TRUE(glob_match("v[0-9].txt", "v7.txt"));
  EXPECT_FALSE(glob_match("v[0-9].txt", "vx.txt"));
  EXPECT_TRUE(glob_match("v[!0-9].txt", "vx.txt"));
  EXPECT_TRUE(glob_match("[ab]c", "bc"));
}

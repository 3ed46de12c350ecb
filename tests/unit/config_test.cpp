#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.h"
#include "registry/digest.h"

using gate::config::parse_config;

namespace {

const char* kValid = R"(version: 1
image:
  repository: 127.0.0.1:5000/acme/emulator
  context: image
  build_args: {CONTRACT: v1}
  candidate_tag: "pr-${GIT_SHA}"
  publish_tags: [latest, stable]
consumers:
  - name: cli
    repo: ../consumer
    ref: main
    setup: "make deps"
    run: ["pytest", "-q", "${CANDIDATE}"]
    env: {EMULATOR_IMAGE: "${CANDIDATE_REF}"}
    timeout: 90s
    junit: "reports/*.xml"
)";

// The error message of parsing `text` as /cfg/gate.yaml, or "" if it parsed.
std::string error_of(const std::string& text) {
  try {
    parse_config(text, "/cfg/gate.yaml");
  } catch (const gate::UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, ValidFileIsReadCompletely) {
  auto config = parse_config(kValid, "/cfg/gate.yaml");
  EXPECT_EQ(config.image.repository, "127.0.0.1:5000/acme/emulator");
  EXPECT_EQ(config.image.context, "/cfg/image");
  EXPECT_EQ(config.image.build_args.at("CONTRACT"), "v1");
  EXPECT_EQ(config.image.publish_tags, (std::vector<std::string>{"latest", "stable"}));
  ASSERT_EQ(config.consumers.size(), 1u);
  const auto& c = config.consumers[0];
  EXPECT_EQ(c.repo, "/consumer");
  EXPECT_EQ(c.ref, "main");
  EXPECT_FALSE(c.run.shell);
  EXPECT_EQ(c.run.argv.size(), 3u);
  EXPECT_TRUE(c.setup.at(0).shell);
  EXPECT_EQ(c.timeout, std::chrono::seconds(90));
  EXPECT_EQ(*c.junit, "reports/*.xml");
}

TEST(Config, KeepsTheDigestOfTheBytesItRead) {
  auto config = parse_config(kValid, "/cfg/gate.yaml");
  EXPECT_EQ(config.digest, gate::registry::sha256_digest(kValid));
}

TEST(Config, PublishTagsDefaultToLatest) {
  auto config = parse_config(R"(version: 1
image: {repository: localhost:5000/a/b}
consumers: [{name: c, repo: /r, run: "true"}]
)",
                             "/cfg/gate.yaml");
  EXPECT_EQ(config.image.publish_tags, std::vector<std::string>{"latest"});
}

TEST(Config, UnknownKeyNamesLineColumnAndSuggestion) {
  std::string text = kValid;
  text.replace(text.find("    timeout:"), 12, "    timout:");
  EXPECT_EQ(error_of(text), "/cfg/gate.yaml:15:5: unknown key 'timout' in consumer 'cli' (did you mean 'timeout'?)");
}

TEST(Config, BadDurationWrongTypeAndMissingField) {
  std::string text = kValid;
  text.replace(text.find("90s"), 3, "ninety");
  EXPECT_NE(error_of(text).find("/cfg/gate.yaml:15:14: consumer 'cli' timeout 'ninety' is not a duration"),
            std::string::npos);

  text = kValid;
  text.replace(text.find("[latest, stable]"), 16, "latest");
  EXPECT_NE(error_of(text).find("gate.yaml:7:17: image.publish_tags must be a list"), std::string::npos);

  text = kValid;
  text.replace(text.find("    run:"), 8, "    # run:");
  EXPECT_NE(error_of(text).find("gate.yaml:9:5: consumer 'cli' is missing the required key 'run'"), std::string::npos);
}

TEST(Config, UnknownPlaceholderPointsAtIt) {
  ::unsetenv("GATE_TEST_NOT_SET");
  std::string text = kValid;
  text.replace(text.find("${CANDIDATE_REF}"), 16, "${GATE_TEST_NOT_SET}");
  std::string error = error_of(text);
  EXPECT_NE(error.find("/cfg/gate.yaml:14:28:"), std::string::npos) << error;
  EXPECT_NE(error.find("unknown placeholder '${GATE_TEST_NOT_SET}'"), std::string::npos) << error;

  ::setenv("GATE_TEST_NOT_SET", "x", 1);
  EXPECT_EQ(error_of(text), "");
  ::unsetenv("GATE_TEST_NOT_SET");
}

TEST(Config, CandidatePlaceholderIsRejectedWhereTheCandidateIsNotKnownYet) {
  std::string text = kValid;
  text.replace(text.find("pr-${GIT_SHA}"), 13, "pr-${CANDIDATE_DIGEST}");
  EXPECT_NE(error_of(text).find("not known at this point of the run"), std::string::npos);
}

TEST(Config, EnvironmentPlaceholdersExpandInRepository) {
  ::setenv("GATE_TEST_REGISTRY", "127.0.0.1:5999", 1);
  std::string text = kValid;
  text.replace(text.find("127.0.0.1:5000"), 14, "${GATE_TEST_REGISTRY}");
  EXPECT_EQ(parse_config(text, "/cfg/gate.yaml").image.repository, "127.0.0.1:5999/acme/emulator");
}

TEST(Config, RejectsDuplicateNamesWrongVersionAndInvalidYaml) {
  std::string text = kValid;
  text += "  - {name: cli, repo: /x, run: \"true\"}\n";
  EXPECT_NE(error_of(text).find("gate.yaml:17:12: consumer name 'cli' is used twice"), std::string::npos);
  EXPECT_NE(error_of("version: 2\n").find("gate.yaml:1:10: version must be 1"), std::string::npos);
  EXPECT_NE(error_of("version: 1\nimage: [\n").find("gate.yaml:3:1: not valid YAML"), std::string::npos);
}

TEST(Config, DeepNestingIsRefusedWhereItHappens) {
  std::string text = kValid;
  text += "    setup_env_unknown: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  // Line 17, at the 61st bracket: the top mapping, the list of consumers
  // and the consumer's mapping (counted as two: the dash and its keys) are
  // the first four levels.
  EXPECT_EQ(error_of(text),
            "/cfg/gate.yaml:17:84: nested more than 64 levels deep (a gate.yaml needs about 6): refused");
  std::string block = "version: 1\n";
  for (int i = 0; i < 100; ++i) block += std::string(static_cast<size_t>(i) * 2, ' ') + "k" + std::to_string(i) + ":\n";
  EXPECT_EQ(error_of(block).substr(0, 21), "/cfg/gate.yaml:66:129");
  // Brackets inside quotes, comments and block scalars are text.
  std::string texts = kValid;
  texts.replace(texts.find("    setup: \"make deps\""), 22,
                "    setup: |\n      echo " + std::string(100, '[') + "\n    # " + std::string(100, '{') +
                    "\n    ref: '" + std::string(100, '[') + "'");
  texts.erase(texts.find("    ref: main\n"), 14);
  EXPECT_EQ(error_of(texts), "");
}

TEST(Config, ControlCharactersInStringsAreRefused) {
  std::string text = kValid;
  text.replace(text.find("\"make deps\""), 11, "\"make\\0deps\"");
  EXPECT_EQ(error_of(text),
            "/cfg/gate.yaml:12:17: consumer 'cli' setup holds the control character \\x00 (character 5 of the string): "
            "not allowed");
  text = kValid;
  text.replace(text.find("\"make deps\""), 11, "\"make \\e[31mdeps\"");
  EXPECT_NE(error_of(text).find("control character \\x1B"), std::string::npos) << error_of(text);
}

TEST(Config, JunitGlobStaysInsideTheCheckout) {
  std::string text = kValid;
  text.replace(text.find("\"reports/*.xml\""), 15, "\"reports/../../*.xml\"");
  EXPECT_EQ(error_of(text),
            "/cfg/gate.yaml:16:12: consumer 'cli' junit must be a glob inside the checkout (relative, without '..')");
}

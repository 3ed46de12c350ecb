#include "config/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "config/yaml_depth.h"
#include "config/yaml_reader.h"
#include "core/duration.h"
#include "core/error.h"
#include "registry/digest.h"
#include "registry/reference.h"

namespace gate::config {
namespace {

// Long by design: the image keys one after another, each with its own
// checks and file:line:column message, in the order the README lists them.
Image read_image(const Reader& r, const YAML::Node& node, const std::filesystem::path& dir) {
  r.expect_map(node, "image");
  r.check_keys(node, "image",
               {"repository", "context", "dockerfile", "build_args", "candidate_tag", "publish_tags",
                "publish_repository", "compare_and_swap"});
  Image image;
  YAML::Node repo_node = r.required(node, "repository", "image");
  image.repository = r.env_string(repo_node, "image.repository");
  if (auto problem = registry::reference_problem(image.repository)) {
    r.fail(repo_node.Mark(),
           fmt::format("image.repository '{}' is not a valid repository: {}", image.repository, *problem));
  }
  auto ref = registry::parse_reference(image.repository);
  if (!ref.tag.empty() || !ref.digest.empty()) {
    r.fail(repo_node.Mark(), fmt::format("image.repository '{}' must not carry a tag or digest; "
                                         "use candidate_tag and publish_tags",
                                         image.repository));
  }
  image.repository = ref.name();

  std::string context = ".";
  if (YAML::Node n = node["context"]; Reader::has(node, "context")) context = r.env_string(n, "image.context");
  image.context = (dir / context).lexically_normal();
  if (YAML::Node n = node["dockerfile"]; Reader::has(node, "dockerfile")) {
    image.dockerfile = r.env_string(n, "image.dockerfile");
  }
  if (YAML::Node n = node["build_args"]; Reader::has(node, "build_args")) {
    r.expect_map(n, "image.build_args");
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = r.scalar(it->first, "a build_args key");
      image.build_args[key] = r.env_string(it->second, fmt::format("image.build_args.{}", key));
    }
  }
  if (YAML::Node n = node["candidate_tag"]; Reader::has(node, "candidate_tag")) {
    image.candidate_tag = r.template_of(n, "image.candidate_tag", kBuildTime);
    // Checked again after expansion; a tag made only of placeholders is checked then.
    // Each placeholder stands for some valid text: "x".
    std::string probe;
    const std::string& text = image.candidate_tag->text;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text.compare(i, 2, "${") == 0) {
        auto close = text.find('}', i);
        if (close != std::string::npos) {
          probe += 'x';
          i = close;
          continue;
        }
      }
      probe += text[i];
    }
    if (!registry::is_valid_tag(probe)) {
      r.fail(n.Mark(), fmt::format("image.candidate_tag '{}' cannot make a valid tag "
                                   "(letters, digits, '_', '.', '-', at most 128)",
                                   image.candidate_tag->text));
    }
  }
  if (YAML::Node n = node["publish_tags"]; Reader::has(node, "publish_tags")) {
    if (!n.IsSequence()) r.fail(n.Mark(), fmt::format("image.publish_tags must be a list, found {}", Reader::kind(n)));
    for (const auto& item : n) {
      std::string tag = r.env_string(item, "image.publish_tags");
      if (!registry::is_valid_tag(tag))
        r.fail(item.Mark(), fmt::format("image.publish_tags: '{}' is not a valid tag", tag));
      image.publish_tags.push_back(tag);
    }
  } else {
    image.publish_tags = {"latest"};
  }
  if (YAML::Node n = node["publish_repository"]; Reader::has(node, "publish_repository")) {
    std::string text = r.env_string(n, "image.publish_repository");
    auto problem = registry::reference_problem(text);
    if (problem)
      r.fail(n.Mark(), fmt::format("image.publish_repository '{}' is not a valid repository: {}", text, *problem));
    auto target = registry::parse_reference(text);
    if (!target.tag.empty() || !target.digest.empty()) {
      r.fail(n.Mark(), fmt::format("image.publish_repository '{}' must not carry a tag or digest", text));
    }
    if (target.registry != ref.registry) {
      r.fail(n.Mark(), fmt::format("image.publish_repository '{}' is in registry {}, the candidate in {}: "
                                   "gate publishes within one registry",
                                   text, target.registry, ref.registry));
    }
    image.publish_repository = target.name();
  }
  if (YAML::Node n = node["compare_and_swap"]; Reader::has(node, "compare_and_swap")) {
    std::string text = r.scalar(n, "image.compare_and_swap");
    if (text == "true")
      image.compare_and_swap = true;
    else if (text == "false")
      image.compare_and_swap = false;
    else
      r.fail(n.Mark(), fmt::format("image.compare_and_swap must be true or false, found '{}'", text));
  }
  return image;
}

}  // namespace

const Policy& default_policy() {
  using enum PolicyAction;
  using enum Outcome;
  static const Policy policy{{regression, block},  {timed_out, block},   {error, block},  {flaky, warn},
                             {pre_existing, warn}, {newly_flaky, block}, {missing, block}};
  return policy;
}

std::string Limit::text() const { return percent ? fmt::format("{:g}%", value) : fmt::format("{:g}", value); }

bool Limit::exceeded(size_t count, size_t selected) const {
  if (!percent) return static_cast<double>(count) > value;
  // A share rounds up: 10% of 7 tests allows 1.
  return static_cast<double>(count) > std::ceil(value * static_cast<double>(selected) / 100.0);
}

const Limit& max_pre_existing(const Config& config, const Consumer& consumer) {
  return consumer.max_pre_existing ? *consumer.max_pre_existing : config.max_pre_existing;
}

bool policy_blocks(const Config& config, const Consumer& consumer, Outcome outcome) {
  for (const auto* policy : {&consumer.policy, &config.policy, &default_policy()}) {
    if (auto it = policy->find(outcome); it != policy->end()) return it->second == PolicyAction::block;
  }
  return false;  // passed, skipped
}

namespace {

// coverage: {kind: go, env: NAME, go: PATH}.
Coverage read_coverage(const Reader& r, const YAML::Node& n) {
  if (!n.IsMap())
    r.fail(n.Mark(), fmt::format("coverage must be a mapping (kind, env, go), found {}", Reader::kind(n)));
  r.check_keys(n, "coverage", {"kind", "env", "go"});
  Coverage coverage;
  YAML::Node kind = r.required(n, "kind", "coverage");
  coverage.kind = r.scalar(kind, "coverage kind");
  if (coverage.kind != "go") {
    r.fail(kind.Mark(), fmt::format("coverage kind '{}' is not supported: the only kind is go "
                                    "(a candidate built with go build -cover)",
                                    coverage.kind));
  }
  if (YAML::Node env = n["env"]; env.IsDefined()) {
    coverage.env = r.scalar(env, "coverage env");
    if (coverage.env.empty() || coverage.env.find_first_of("= ") != std::string::npos) {
      r.fail(env.Mark(), fmt::format("coverage env '{}' is not an environment variable name", coverage.env));
    }
  }
  if (YAML::Node go = n["go"]; go.IsDefined()) coverage.go = r.env_string(go, "coverage go");
  return coverage;
}

// paths: the globs of the image repository a change must touch to be gated.
std::vector<std::string> read_paths(const Reader& r, const YAML::Node& n) {
  if (!n.IsSequence()) r.fail(n.Mark(), fmt::format("paths must be a list of globs, found {}", Reader::kind(n)));
  std::vector<std::string> paths;
  for (const auto& item : n) {
    std::string glob = r.scalar(item, "paths");
    if (glob.empty() || glob.front() == '/') {
      r.fail(item.Mark(), fmt::format("paths: '{}' must be a glob relative to the repository root", glob));
    }
    paths.push_back(glob);
  }
  return paths;
}

}  // namespace

Config parse_config(const std::string& text, const std::filesystem::path& file) {
  Reader r(file);
  if (auto mark = too_deep(text)) {
    r.fail(*mark, fmt::format("nested more than {} levels deep (a gate.yaml needs about 6): refused", kMaxYamlDepth));
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    r.fail(e.mark, fmt::format("not valid YAML: {}", e.msg));
  }
  if (!root.IsMap()) r.fail(root.Mark(), fmt::format("the file must be a mapping, found {}", Reader::kind(root)));
  Config config;
  config.file = file;
  config.dir = std::filesystem::absolute(file).parent_path();
  config.digest = registry::sha256_digest(text);
  try {
    r.check_keys(root, "the top level",
                 {"version", "image", "consumers", "insecure_registries", "paths", "policy", "coverage",
                  "max_pre_existing", "concurrency", "fail_fast"});
    if (auto n = r.whole_number(root, "concurrency", "the top-level", 1)) config.concurrency = *n;
    if (auto b = r.boolean(root, "fail_fast", "the top-level")) config.fail_fast = *b;
    if (YAML::Node n = root["max_pre_existing"]; Reader::has(root, "max_pre_existing")) {
      config.max_pre_existing = read_limit(r, n, "max_pre_existing");
    }
    if (YAML::Node n = root["coverage"]; Reader::has(root, "coverage")) config.coverage = read_coverage(r, n);
    if (YAML::Node n = root["policy"]; Reader::has(root, "policy")) config.policy = read_policy(r, n, "policy");
    YAML::Node version = r.required(root, "version", "the top level");
    if (!version.IsScalar() || version.Scalar() != "1") {
      r.fail(version.Mark(), "version must be 1 (the only configuration version this gate reads)");
    }
    config.image = read_image(r, r.required(root, "image", "the top level"), config.dir);
    if (YAML::Node n = root["insecure_registries"]; Reader::has(root, "insecure_registries")) {
      if (!n.IsSequence())
        r.fail(n.Mark(), fmt::format("insecure_registries must be a list, found {}", Reader::kind(n)));
      for (const auto& item : n) config.insecure_registries.push_back(r.env_string(item, "insecure_registries"));
    }
    if (YAML::Node n = root["paths"]; Reader::has(root, "paths")) config.paths = read_paths(r, n);
    YAML::Node consumers = r.required(root, "consumers", "the top level");
    if (!consumers.IsSequence()) {
      r.fail(consumers.Mark(), fmt::format("consumers must be a list, found {}", Reader::kind(consumers)));
    }
    if (consumers.size() == 0) r.fail(consumers.Mark(), "consumers is empty: a gate with no consumer verifies nothing");
    std::set<std::string> names;
    for (size_t i = 0; i < consumers.size(); ++i) {
      Consumer c = read_consumer(r, consumers[i], config.dir, i);
      if (!names.insert(c.name).second) {
        r.fail(consumers[i]["name"].Mark(), fmt::format("consumer name '{}' is used twice", c.name));
      }
      config.consumers.push_back(std::move(c));
    }
  } catch (const YAML::Exception& e) {
    r.fail(e.mark, e.msg);
  }
  return config;
}

Config load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw UsageError(fmt::format("cannot read config '{}': {}", file.string(), std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_config(buffer.str(), file);
}

}  // namespace gate::config

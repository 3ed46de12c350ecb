#include "config/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "config/yaml_depth.h"
#include "core/duration.h"
#include "core/error.h"
#include "registry/reference.h"

namespace gate::config {
namespace {

using Names = std::set<std::string, std::less<>>;

// Which of gate's placeholders each kind of field may use.
const Names kEnvOnly{};
const Names kBuildTime{std::string(kGitSha)};
const Names kTestTime{std::string(kCandidate),    std::string(kCandidateRef), std::string(kCandidateDigest),
                      std::string(kCandidateTag), std::string(kGitSha),       "SERVICE_*"};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Reads one YAML document and turns every problem into "file:line:col: reason".
class Reader {
 public:
  explicit Reader(std::filesystem::path file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& reason) const {
    throw UsageError(fmt::format("{}:{}:{}: {}", file_.string(), mark.line + 1, mark.column + 1, reason));
  }
  [[noreturn]] void fail(const SourceMark& mark, const std::string& reason) const {
    throw UsageError(fmt::format("{}:{}:{}: {}", file_.string(), mark.line, mark.column, reason));
  }

  static SourceMark mark_of(const YAML::Node& node) {
    return SourceMark{node.Mark().line + 1, node.Mark().column + 1};
  }

  static const char* kind(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Map: return "a mapping";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Scalar: return "a scalar";
      case YAML::NodeType::Null: return "empty";
      default: return "undefined";
    }
  }

  void expect_map(const YAML::Node& node, std::string_view what) const {
    if (!node.IsMap()) fail(node.Mark(), fmt::format("{} must be a mapping, found {}", what, kind(node)));
  }

  // Rejects keys outside `known`, suggesting the closest known key.
  void check_keys(const YAML::Node& map, std::string_view what, std::initializer_list<std::string_view> known) const {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) fail(it->first.Mark(), fmt::format("{}: keys must be plain names", what));
      std::string key = it->first.Scalar();
      // yaml-cpp keeps one of two equal keys silently; a config must not mean two things.
      if (!seen.insert(key).second) fail(it->first.Mark(), fmt::format("key '{}' appears twice in {}", key, what));
      bool found = false;
      std::string_view closest;
      size_t best = 3;
      for (auto k : known) {
        if (k == key) found = true;
        size_t d = edit_distance(key, k);
        if (d < best) {
          best = d;
          closest = k;
        }
      }
      if (!found) {
        std::string known_list;
        for (auto k : known) known_list += (known_list.empty() ? "" : ", ") + std::string(k);
        std::string hint = closest.empty() ? fmt::format(" (known keys: {})", known_list)
                                           : fmt::format(" (did you mean '{}'?)", closest);
        fail(it->first.Mark(), fmt::format("unknown key '{}' in {}{}", key, what, hint));
      }
    }
  }

  YAML::Node required(const YAML::Node& map, const char* key, std::string_view what) const {
    YAML::Node node = map[key];
    if (!node.IsDefined() || node.IsNull()) {
      fail(map.Mark(), fmt::format("{} is missing the required key '{}'", what, key));
    }
    return node;
  }

  std::string scalar(const YAML::Node& node, std::string_view what) const {
    if (!node.IsScalar()) fail(node.Mark(), fmt::format("{} must be a string, found {}", what, kind(node)));
    const std::string& text = node.Scalar();
    // A NUL would cut the string at exec, an escape sequence would reach the
    // terminal: neither belongs in a config. Tabs and newlines (scripts) do.
    for (size_t i = 0; i < text.size(); ++i) {
      auto c = static_cast<unsigned char>(text[i]);
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        SourceMark mark = mark_of(node);
        if (text.find('\n') > i) mark.column += static_cast<int>(i) + (node.Tag() == "!" ? 1 : 0);
        fail(mark, fmt::format("{} holds the control character \\x{:02X} (character {} of the string): not allowed", what,
                               c, i + 1));
      }
    }
    return text;
  }

  Template template_of(const YAML::Node& node, std::string_view what, const Names& allowed) const {
    Template tmpl{scalar(node, what), mark_of(node)};
    if (auto problem = check_template(tmpl.text, allowed)) {
      // Point at the placeholder itself when the scalar sits on one line.
      int column = tmpl.mark.column + static_cast<int>(problem->offset);
      if (node.Tag() == "!" ) column += 1;  // quoted scalar: skip the opening quote
      fail(SourceMark{tmpl.mark.line, column}, fmt::format("{}: {}", what, problem->message));
    }
    return tmpl;
  }

  // Expands a field that may only use environment placeholders, now.
  std::string env_string(const YAML::Node& node, std::string_view what) const {
    Template tmpl = template_of(node, what, kEnvOnly);
    return expand(tmpl, {}, file_.string());
  }

  Command command(const YAML::Node& node, std::string_view what, bool list_is_argv) const {
    Command cmd;
    cmd.mark = mark_of(node);
    if (node.IsScalar()) {
      cmd.shell = true;
      cmd.argv.push_back(template_of(node, what, kTestTime));
      if (cmd.argv.front().text.empty()) fail(node.Mark(), fmt::format("{} is an empty command", what));
      return cmd;
    }
    if (node.IsSequence() && list_is_argv) {
      if (node.size() == 0) fail(node.Mark(), fmt::format("{} is an empty argv list", what));
      for (const auto& item : node) cmd.argv.push_back(template_of(item, what, kTestTime));
      return cmd;
    }
    fail(node.Mark(), fmt::format("{} must be a string (a shell command){}, found {}", what,
                                  list_is_argv ? " or a list (an argv)" : "", kind(node)));
  }

  std::filesystem::path file_;
};

std::map<std::string, std::string> read_policy(const Reader& r, const YAML::Node& node, const std::string& what) {
  r.expect_map(node, what);
  std::map<std::string, std::string> policy;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string outcome = r.scalar(it->first, what + " outcome");
    if (!default_policy().count(outcome)) {
      r.fail(it->first.Mark(), fmt::format("{}: '{}' is not an outcome (regression, pre-existing, flaky, newly-flaky, "
                                           "missing, timed-out, error)",
                                           what, outcome));
    }
    std::string action = r.scalar(it->second, what + " " + outcome);
    if (action != "block" && action != "warn") {
      r.fail(it->second.Mark(), fmt::format("{}: {} must be block or warn, found '{}'", what, outcome, action));
    }
    policy[outcome] = action;
  }
  return policy;
}

// "10%" (of the selected tests) or "3" (tests).
Limit read_limit(const Reader& r, const YAML::Node& node, const std::string& what) {
  std::string text = r.scalar(node, what);
  Limit limit;
  limit.percent = !text.empty() && text.back() == '%';
  std::string number = limit.percent ? text.substr(0, text.size() - 1) : text;
  bool digits = !number.empty() && number.size() < 8 &&
                std::all_of(number.begin(), number.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; }) &&
                std::count(number.begin(), number.end(), '.') <= 1 && number.front() != '.';
  if (!digits || (!limit.percent && number.find('.') != std::string::npos)) {
    r.fail(node.Mark(), fmt::format("{} must be a count of tests (e.g. 3) or a percentage of the selected tests "
                                    "(e.g. 10%), found '{}'", what, text));
  }
  limit.value = std::stod(number);
  if (limit.percent && limit.value > 100) r.fail(node.Mark(), fmt::format("{} {} is over 100%", what, text));
  return limit;
}

bool looks_like_url(std::string_view repo) {
  if (repo.find("://") != std::string_view::npos) return true;
  // scp-like "git@host:org/repo"
  auto at = repo.find('@');
  auto colon = repo.find(':');
  if (at == std::string_view::npos || at == 0 || colon == std::string_view::npos || colon < at + 2 ||
      colon + 1 >= repo.size()) {
    return false;
  }
  auto user_ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; };
  auto host_ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; };
  return std::all_of(repo.begin(), repo.begin() + static_cast<long>(at), user_ok) &&
         std::all_of(repo.begin() + static_cast<long>(at) + 1, repo.begin() + static_cast<long>(colon), host_ok);
}

Image read_image(const Reader& r, const YAML::Node& node, const std::filesystem::path& dir) {
  r.expect_map(node, "image");
  r.check_keys(node, "image",
               {"repository", "context", "dockerfile", "build_args", "candidate_tag", "publish_tags",
                "publish_repository", "compare_and_swap"});
  Image image;
  YAML::Node repo_node = r.required(node, "repository", "image");
  image.repository = r.env_string(repo_node, "image.repository");
  if (auto problem = registry::reference_problem(image.repository)) {
    r.fail(repo_node.Mark(), fmt::format("image.repository '{}' is not a valid repository: {}",
                                         image.repository, *problem));
  }
  auto ref = registry::parse_reference(image.repository);
  if (!ref.tag.empty() || !ref.digest.empty()) {
    r.fail(repo_node.Mark(), fmt::format("image.repository '{}' must not carry a tag or digest; "
                                         "use candidate_tag and publish_tags",
                                         image.repository));
  }
  image.repository = ref.name();

  std::string context = ".";
  if (YAML::Node n = node["context"]; n.IsDefined() && !n.IsNull()) context = r.env_string(n, "image.context");
  image.context = (dir / context).lexically_normal();
  if (YAML::Node n = node["dockerfile"]; n.IsDefined() && !n.IsNull()) {
    image.dockerfile = r.env_string(n, "image.dockerfile");
  }
  if (YAML::Node n = node["build_args"]; n.IsDefined() && !n.IsNull()) {
    r.expect_map(n, "image.build_args");
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = r.scalar(it->first, "a build_args key");
      image.build_args[key] = r.env_string(it->second, fmt::format("image.build_args.{}", key));
    }
  }
  if (YAML::Node n = node["candidate_tag"]; n.IsDefined() && !n.IsNull()) {
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
  if (YAML::Node n = node["publish_tags"]; n.IsDefined() && !n.IsNull()) {
    if (!n.IsSequence()) r.fail(n.Mark(), fmt::format("image.publish_tags must be a list, found {}", Reader::kind(n)));
    for (const auto& item : n) {
      std::string tag = r.env_string(item, "image.publish_tags");
      if (!registry::is_valid_tag(tag)) r.fail(item.Mark(), fmt::format("image.publish_tags: '{}' is not a valid tag", tag));
      image.publish_tags.push_back(tag);
    }
  } else {
    image.publish_tags = {"latest"};
  }
  if (YAML::Node n = node["publish_repository"]; n.IsDefined() && !n.IsNull()) {
    std::string text = r.env_string(n, "image.publish_repository");
    auto problem = registry::reference_problem(text);
    if (problem) r.fail(n.Mark(), fmt::format("image.publish_repository '{}' is not a valid repository: {}", text, *problem));
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
  if (YAML::Node n = node["compare_and_swap"]; n.IsDefined() && !n.IsNull()) {
    std::string text = r.scalar(n, "image.compare_and_swap");
    if (text == "true") image.compare_and_swap = true;
    else if (text == "false") image.compare_and_swap = false;
    else r.fail(n.Mark(), fmt::format("image.compare_and_swap must be true or false, found '{}'", text));
  }
  return image;
}

Consumer read_consumer(const Reader& r, const YAML::Node& node, const std::filesystem::path& dir, size_t index) {
  std::string what = fmt::format("consumers[{}]", index);
  r.expect_map(node, what);
  Consumer c;
  c.mark = Reader::mark_of(node);
  YAML::Node name_node = r.required(node, "name", what);
  c.name = r.scalar(name_node, what + ".name");
  bool name_ok = !c.name.empty() && c.name.size() <= 64 && std::isalnum(static_cast<unsigned char>(c.name.front())) &&
                 std::all_of(c.name.begin(), c.name.end(), [](char ch) {
                   return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
                 });
  if (!name_ok) {
    r.fail(name_node.Mark(), fmt::format("{}.name '{}' must be letters, digits, '.', '_', '-' (at most 64)", what, c.name));
  }
  what = fmt::format("consumer '{}'", c.name);
  r.check_keys(node, what, {"name", "repo", "ref", "setup", "run", "env", "timeout", "junit", "submodules",
                            "token_env", "token_user", "checkout_timeout", "runner", "tests", "shards", "parallel",
                            "serial_groups", "test_timeout", "retries", "baseline", "policy", "prebuild", "services",
                            "cache_paths", "cache_key", "flaky_reruns", "baseline_reruns", "max_pre_existing"});
  if (YAML::Node n = node["runner"]; n.IsDefined() && !n.IsNull()) {
    c.runner = r.scalar(n, what + " runner");
    if (c.runner != "command" && c.runner != "pytest" && c.runner != "ctest" && c.runner != "go") {
      r.fail(n.Mark(), fmt::format("{} runner '{}' is not one gate has (command, pytest, ctest, go)", what, c.runner));
    }
  }
  YAML::Node repo_node = r.required(node, "repo", what);
  c.repo = r.env_string(repo_node, what + " repo");
  if (c.repo.empty()) r.fail(repo_node.Mark(), what + ": repo is empty");
  if (!looks_like_url(c.repo)) {
    std::filesystem::path path = c.repo;
    c.repo = (path.is_absolute() ? path : dir / path).lexically_normal().string();
  }
  if (YAML::Node n = node["ref"]; n.IsDefined() && !n.IsNull()) c.ref = r.env_string(n, what + " ref");
  if (YAML::Node n = node["setup"]; n.IsDefined() && !n.IsNull()) {
    if (n.IsSequence()) {
      for (const auto& item : n) c.setup.push_back(r.command(item, what + " setup", false));
    } else {
      c.setup.push_back(r.command(n, what + " setup", false));
    }
  }
  if (c.runner != "command" && (!node["run"].IsDefined() || node["run"].IsNull())) {
    // How to start the tool; gate adds the test selection and its own options.
    std::vector<const char*> tool = c.runner == "pytest"  ? std::vector<const char*>{"python3", "-m", "pytest"}
                                    : c.runner == "ctest" ? std::vector<const char*>{"ctest", "--test-dir", "build"}
                                                          : std::vector<const char*>{"go"};
    for (const char* part : tool) c.run.argv.push_back(Template{part, c.mark});
  } else {
    c.run = r.command(r.required(node, "run", what), what + " run", true);
    if (c.runner != "command" && c.run.shell) {
      r.fail(node["run"].Mark(), fmt::format("{} run: with runner {} it is how to start the tool, as a list "
                                             "(e.g. [\"python3\", \"-m\", \"pytest\"]); gate adds the tests",
                                             what, c.runner));
    }
  }
  auto int_key = [&](const char* key, int minimum, int* out) {
    YAML::Node n = node[key];
    if (!n.IsDefined() || n.IsNull()) return;
    std::string text = r.scalar(n, what + " " + key);
    bool digits = !text.empty() && std::all_of(text.begin(), text.end(), ::isdigit) && text.size() < 6;
    if (!digits || std::stoi(text) < minimum) {
      r.fail(n.Mark(), fmt::format("{} {} must be a whole number of at least {}, found '{}'", what, key, minimum, text));
    }
    *out = std::stoi(text);
  };
  int_key("shards", 1, &c.shards);
  int_key("parallel", 1, &c.parallel);
  int_key("retries", 0, &c.retries);
  int_key("flaky_reruns", 0, &c.flaky_reruns);
  int_key("baseline_reruns", 0, &c.baseline_reruns);
  if (YAML::Node n = node["max_pre_existing"]; n.IsDefined() && !n.IsNull()) {
    c.max_pre_existing = read_limit(r, n, what + " max_pre_existing");
  }
  auto string_list = [&](const char* key, std::vector<std::string>* out) {
    YAML::Node n = node[key];
    if (!n.IsDefined() || n.IsNull()) return;
    if (n.IsScalar()) {
      out->push_back(n.Scalar());
      return;
    }
    if (!n.IsSequence()) r.fail(n.Mark(), fmt::format("{} {} must be a list of strings, found {}", what, key, Reader::kind(n)));
    for (const auto& item : n) out->push_back(r.env_string(item, what + " " + key));
  };
  string_list("tests", &c.tests);
  string_list("cache_paths", &c.cache_paths);
  for (const auto& path : c.cache_paths) {
    if (path.empty() || path.front() == '/' || path.find("..") != std::string::npos) {
      r.fail(node["cache_paths"].Mark(), fmt::format("{} cache_paths: '{}' must be a path inside the checkout", what, path));
    }
  }
  if (YAML::Node n = node["cache_key"]; n.IsDefined() && !n.IsNull()) c.cache_key = r.env_string(n, what + " cache_key");
  if (!c.cache_paths.empty() && !node["setup"].IsDefined()) {
    r.fail(node["cache_paths"].Mark(), fmt::format("{} cache_paths caches what setup makes, and there is no setup", what));
  }
  string_list("serial_groups", &c.serial_groups);
  if (c.runner == "command") {
    for (const char* key : {"tests", "shards", "parallel", "serial_groups", "test_timeout"}) {
      if (node[key].IsDefined() && !node[key].IsNull()) {
        r.fail(node[key].Mark(), fmt::format("{} {} needs a runner that knows single tests (runner: pytest); "
                                             "with runner: command the whole run is one unit",
                                             what, key));
      }
    }
    // Rerunning the whole command and comparing test by test needs its tests.
    for (const char* key : {"retries", "baseline", "flaky_reruns", "baseline_reruns", "max_pre_existing"}) {
      if (node[key].IsDefined() && !node[key].IsNull() && (!node["junit"].IsDefined() || node["junit"].IsNull())) {
        r.fail(node[key].Mark(), fmt::format("{} {} with runner: command needs junit (the reports that name its tests)",
                                             what, key));
      }
    }
  }
  if (YAML::Node n = node["test_timeout"]; n.IsDefined() && !n.IsNull()) {
    std::string text = r.scalar(n, what + " test_timeout");
    auto duration = parse_duration(text);
    if (!duration) r.fail(n.Mark(), fmt::format("{} test_timeout '{}' is not a duration (examples: 30s, 2m)", what, text));
    c.test_timeout = *duration;
  }
  if (YAML::Node n = node["services"]; n.IsDefined() && !n.IsNull()) {
    if (!n.IsSequence()) r.fail(n.Mark(), fmt::format("{} services must be a list, found {}", what, Reader::kind(n)));
    std::set<std::string> names;
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node& s = n[i];
      std::string sw = fmt::format("{} services[{}]", what, i);
      r.expect_map(s, sw);
      r.check_keys(s, sw, {"name", "image", "ports", "host_ports", "env", "ready", "ready_timeout"});
      config::Service service;
      YAML::Node name_node = r.required(s, "name", sw);
      service.name = r.scalar(name_node, sw + " name");
      bool name_ok = !service.name.empty() && std::all_of(service.name.begin(), service.name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
      });
      if (!name_ok) r.fail(name_node.Mark(), fmt::format("{} name '{}' must be letters, digits, '_' or '-'", sw, service.name));
      if (!names.insert(service.name).second) r.fail(name_node.Mark(), fmt::format("{}: service name '{}' is used twice", what, service.name));
      sw = fmt::format("{} service '{}'", what, service.name);
      if (YAML::Node img = s["image"]; img.IsDefined() && !img.IsNull()) {
        service.image = r.template_of(img, sw + " image", kTestTime);
      } else {
        service.image = Template{"${CANDIDATE_REF}", Reader::mark_of(s)};
      }
      auto port_of = [&](const YAML::Node& p) {
        std::string text = r.scalar(p, sw + " port");
        bool digits = !text.empty() && text.size() <= 5 && std::all_of(text.begin(), text.end(), ::isdigit);
        int port = digits ? std::stoi(text) : 0;
        if (port < 1 || port > 65535) r.fail(p.Mark(), fmt::format("{}: '{}' is not a port (1-65535)", sw, text));
        return port;
      };
      if (YAML::Node ports = s["ports"]; ports.IsDefined() && !ports.IsNull()) {
        if (!ports.IsSequence()) r.fail(ports.Mark(), fmt::format("{} ports must be a list of container ports", sw));
        for (const auto& p : ports) service.ports.push_back(port_of(p));
      }
      if (YAML::Node hp = s["host_ports"]; hp.IsDefined() && !hp.IsNull()) {
        r.expect_map(hp, sw + " host_ports (container port: host port)");
        for (auto it = hp.begin(); it != hp.end(); ++it) {
          int container = port_of(it->first);
          if (std::find(service.ports.begin(), service.ports.end(), container) == service.ports.end()) {
            r.fail(it->first.Mark(), fmt::format("{}: host_ports names container port {}, which is not one of its ports", sw,
                                                 container));
          }
          service.host_ports[container] = port_of(it->second);
        }
      }
      if (YAML::Node e = s["env"]; e.IsDefined() && !e.IsNull()) {
        r.expect_map(e, sw + " env");
        for (auto it = e.begin(); it != e.end(); ++it) {
          std::string key = r.scalar(it->first, sw + " env key");
          service.env.emplace_back(key, r.template_of(it->second, fmt::format("{} env {}", sw, key), kTestTime));
        }
      }
      if (YAML::Node ready = s["ready"]; ready.IsDefined() && !ready.IsNull()) {
        r.expect_map(ready, sw + " ready");
        r.check_keys(ready, sw + " ready", {"tcp", "command"});
        if (ready["tcp"].IsDefined()) {
          service.ready_tcp = port_of(ready["tcp"]);
          if (std::find(service.ports.begin(), service.ports.end(), service.ready_tcp) == service.ports.end()) {
            r.fail(ready["tcp"].Mark(), fmt::format("{}: ready tcp {} is not one of its ports", sw, service.ready_tcp));
          }
        }
        if (ready["command"].IsDefined()) {
          const YAML::Node& cmd = ready["command"];
          if (!cmd.IsSequence() || cmd.size() == 0) r.fail(cmd.Mark(), fmt::format("{}: ready command must be an argv list", sw));
          for (const auto& part : cmd) service.ready_command.push_back(r.template_of(part, sw + " ready command", kTestTime));
        }
      }
      if (YAML::Node t = s["ready_timeout"]; t.IsDefined() && !t.IsNull()) {
        std::string text = r.scalar(t, sw + " ready_timeout");
        auto duration = parse_duration(text);
        if (!duration) r.fail(t.Mark(), fmt::format("{} ready_timeout '{}' is not a duration", sw, text));
        service.ready_timeout = *duration;
      }
      c.services.push_back(std::move(service));
    }
  }
  if (YAML::Node n = node["prebuild"]; n.IsDefined() && !n.IsNull()) {
    std::string text = r.scalar(n, what + " prebuild");
    if (text != "true" && text != "false") r.fail(n.Mark(), fmt::format("{} prebuild must be true or false, found '{}'", what, text));
    if (c.runner != "go") r.fail(n.Mark(), fmt::format("{} prebuild is for runner: go", what));
    c.prebuild = text == "true";
  }
  if (YAML::Node n = node["baseline"]; n.IsDefined() && !n.IsNull()) {
    std::string text = r.scalar(n, what + " baseline");
    if (text != "true" && text != "false") r.fail(n.Mark(), fmt::format("{} baseline must be true or false, found '{}'", what, text));
    c.baseline = text == "true";
  }
  if (YAML::Node n = node["policy"]; n.IsDefined() && !n.IsNull()) c.policy = read_policy(r, n, what + " policy");
  if (YAML::Node n = node["env"]; n.IsDefined() && !n.IsNull()) {
    r.expect_map(n, what + " env");
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = r.scalar(it->first, what + " env key");
      bool key_ok = !key.empty() && !std::isdigit(static_cast<unsigned char>(key.front())) &&
                    std::all_of(key.begin(), key.end(), [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
      if (!key_ok) {
        r.fail(it->first.Mark(), fmt::format("{} env: '{}' is not a valid variable name", what, key));
      }
      c.env.emplace_back(key, r.template_of(it->second, fmt::format("{} env {}", what, key), kTestTime));
    }
  }
  if (YAML::Node n = node["timeout"]; n.IsDefined() && !n.IsNull()) {
    std::string text = r.scalar(n, what + " timeout");
    auto duration = parse_duration(text);
    if (!duration) {
      r.fail(n.Mark(), fmt::format("{} timeout '{}' is not a duration (examples: 90s, 15m, 1h30m)", what, text));
    }
    c.timeout = *duration;
  }
  if (YAML::Node n = node["submodules"]; n.IsDefined() && !n.IsNull()) {
    std::string text = r.scalar(n, what + " submodules");
    if (text != "true" && text != "false") r.fail(n.Mark(), fmt::format("{} submodules must be true or false, found '{}'", what, text));
    c.submodules = text == "true";
  }
  if (YAML::Node n = node["token_env"]; n.IsDefined() && !n.IsNull()) {
    c.token_env = r.scalar(n, what + " token_env");
    bool ok = !c.token_env.empty() && !std::isdigit(static_cast<unsigned char>(c.token_env.front())) &&
              std::all_of(c.token_env.begin(), c.token_env.end(),
                          [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
    if (!ok) r.fail(n.Mark(), fmt::format("{} token_env '{}' is not an environment variable name", what, c.token_env));
  }
  if (YAML::Node n = node["token_user"]; n.IsDefined() && !n.IsNull()) c.token_user = r.scalar(n, what + " token_user");
  if (YAML::Node n = node["checkout_timeout"]; n.IsDefined() && !n.IsNull()) {
    std::string text = r.scalar(n, what + " checkout_timeout");
    auto duration = parse_duration(text);
    if (!duration) r.fail(n.Mark(), fmt::format("{} checkout_timeout '{}' is not a duration (examples: 90s, 5m)", what, text));
    c.checkout_timeout = *duration;
  }
  if (YAML::Node n = node["junit"]; n.IsDefined() && !n.IsNull()) {
    c.junit = r.env_string(n, what + " junit");
    auto parts = std::filesystem::path(*c.junit);
    bool climbs = std::any_of(parts.begin(), parts.end(), [](const auto& part) { return part == ".."; });
    if (c.junit->empty() || parts.is_absolute() || climbs) {
      r.fail(n.Mark(), fmt::format("{} junit must be a glob inside the checkout (relative, without '..')", what));
    }
  }
  return c;
}

}  // namespace

const std::map<std::string, std::string>& default_policy() {
  static const std::map<std::string, std::string> policy{
      {"regression", "block"}, {"timed-out", "block"}, {"error", "block"},  {"flaky", "warn"},
      {"pre-existing", "warn"}, {"newly-flaky", "block"}, {"missing", "block"}};
  return policy;
}

std::string Limit::text() const {
  return percent ? fmt::format("{:g}%", value) : fmt::format("{:g}", value);
}

bool Limit::exceeded(size_t count, size_t selected) const {
  if (!percent) return static_cast<double>(count) > value;
  // A share rounds up: 10% of 7 tests allows 1.
  return static_cast<double>(count) > std::ceil(value * static_cast<double>(selected) / 100.0);
}

const Limit& max_pre_existing(const Config& config, const Consumer& consumer) {
  return consumer.max_pre_existing ? *consumer.max_pre_existing : config.max_pre_existing;
}

bool policy_blocks(const Config& config, const Consumer& consumer, const std::string& outcome) {
  for (const auto* policy : {&consumer.policy, &config.policy, &default_policy()}) {
    if (auto it = policy->find(outcome); it != policy->end()) return it->second == "block";
  }
  return false;  // passed, skipped
}

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
  try {
    r.check_keys(root, "the top level",
                 {"version", "image", "consumers", "insecure_registries", "paths", "policy", "coverage",
                  "max_pre_existing"});
    if (YAML::Node n = root["max_pre_existing"]; n.IsDefined() && !n.IsNull()) {
      config.max_pre_existing = read_limit(r, n, "max_pre_existing");
    }
    if (YAML::Node n = root["coverage"]; n.IsDefined() && !n.IsNull()) {
      if (!n.IsMap()) r.fail(n.Mark(), fmt::format("coverage must be a mapping (kind, env, go), found {}", Reader::kind(n)));
      r.check_keys(n, "coverage", {"kind", "env", "go"});
      Coverage coverage;
      YAML::Node kind = r.required(n, "kind", "coverage");
      coverage.kind = r.scalar(kind, "coverage kind");
      if (coverage.kind != "go") {
        r.fail(kind.Mark(), fmt::format("coverage kind '{}' is not supported: the only kind is go "
                                        "(a candidate built with go build -cover)", coverage.kind));
      }
      if (YAML::Node env = n["env"]; env.IsDefined()) {
        coverage.env = r.scalar(env, "coverage env");
        if (coverage.env.empty() || coverage.env.find_first_of("= ") != std::string::npos) {
          r.fail(env.Mark(), fmt::format("coverage env '{}' is not an environment variable name", coverage.env));
        }
      }
      if (YAML::Node go = n["go"]; go.IsDefined()) coverage.go = r.env_string(go, "coverage go");
      config.coverage = coverage;
    }
    if (YAML::Node n = root["policy"]; n.IsDefined() && !n.IsNull()) config.policy = read_policy(r, n, "policy");
    YAML::Node version = r.required(root, "version", "the top level");
    if (!version.IsScalar() || version.Scalar() != "1") {
      r.fail(version.Mark(), "version must be 1 (the only configuration version this gate reads)");
    }
    config.image = read_image(r, r.required(root, "image", "the top level"), config.dir);
    if (YAML::Node n = root["insecure_registries"]; n.IsDefined() && !n.IsNull()) {
      if (!n.IsSequence()) r.fail(n.Mark(), fmt::format("insecure_registries must be a list, found {}", Reader::kind(n)));
      for (const auto& item : n) config.insecure_registries.push_back(r.env_string(item, "insecure_registries"));
    }
    if (YAML::Node n = root["paths"]; n.IsDefined() && !n.IsNull()) {
      if (!n.IsSequence()) r.fail(n.Mark(), fmt::format("paths must be a list of globs, found {}", Reader::kind(n)));
      for (const auto& item : n) {
        std::string glob = r.scalar(item, "paths");
        if (glob.empty() || glob.front() == '/') {
          r.fail(item.Mark(), fmt::format("paths: '{}' must be a glob relative to the repository root", glob));
        }
        config.paths.push_back(glob);
      }
    }
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

// One consumer of gate.yaml: what to check out, how to run and judge it.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>

#include "config/yaml_reader.h"
#include "core/duration.h"

namespace gate::config {
namespace {

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

// One entry of a consumer's `services`.
Service read_service(const Reader& r, const YAML::Node& s, const std::string& what, size_t index,
                     std::set<std::string>& names) {
  std::string sw = fmt::format("{} services[{}]", what, index);
  r.expect_map(s, sw);
  r.check_keys(s, sw, {"name", "image", "ports", "host_ports", "env", "ready", "ready_timeout"});
  config::Service service;
  YAML::Node name_node = r.required(s, "name", sw);
  service.name = r.scalar(name_node, sw + " name");
  bool name_ok = !service.name.empty() && std::all_of(service.name.begin(), service.name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
  });
  if (!name_ok)
    r.fail(name_node.Mark(), fmt::format("{} name '{}' must be letters, digits, '_' or '-'", sw, service.name));
  if (!names.insert(service.name).second)
    r.fail(name_node.Mark(), fmt::format("{}: service name '{}' is used twice", what, service.name));
  sw = fmt::format("{} service '{}'", what, service.name);
  if (Reader::has(s, "image")) {
    service.image = r.template_of(s["image"], sw + " image", kTestTime);
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
  if (YAML::Node ports = s["ports"]; Reader::has(s, "ports")) {
    if (!ports.IsSequence()) r.fail(ports.Mark(), fmt::format("{} ports must be a list of container ports", sw));
    for (const auto& p : ports) service.ports.push_back(port_of(p));
  }
  if (YAML::Node hp = s["host_ports"]; Reader::has(s, "host_ports")) {
    r.expect_map(hp, sw + " host_ports (container port: host port)");
    for (auto it = hp.begin(); it != hp.end(); ++it) {
      int container = port_of(it->first);
      if (std::find(service.ports.begin(), service.ports.end(), container) == service.ports.end()) {
        r.fail(it->first.Mark(),
               fmt::format("{}: host_ports names container port {}, which is not one of its ports", sw, container));
      }
      service.host_ports[container] = port_of(it->second);
    }
  }
  if (YAML::Node e = s["env"]; Reader::has(s, "env")) {
    r.expect_map(e, sw + " env");
    for (auto it = e.begin(); it != e.end(); ++it) {
      std::string key = r.scalar(it->first, sw + " env key");
      service.env.emplace_back(key, r.template_of(it->second, fmt::format("{} env {}", sw, key), kTestTime));
    }
  }
  if (YAML::Node ready = s["ready"]; Reader::has(s, "ready")) {
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
      if (!cmd.IsSequence() || cmd.size() == 0)
        r.fail(cmd.Mark(), fmt::format("{}: ready command must be an argv list", sw));
      for (const auto& part : cmd)
        service.ready_command.push_back(r.template_of(part, sw + " ready command", kTestTime));
    }
  }
  if (auto t = r.duration(s, "ready_timeout", sw, "10s, 2m")) service.ready_timeout = *t;
  return service;
}

// A version's name becomes part of the consumer's ("emucli@v2.3.1"): in
// file names, JUnit and the CI matrix.
bool is_version_name(std::string_view ref) {
  return !ref.empty() && ref.size() <= 64 && std::all_of(ref.begin(), ref.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' || ch == '+';
  });
}

// releases, release_pattern, refs: the versions tested besides ref.
void read_versions(const Reader& r, const YAML::Node& node, const std::string& what, Consumer& c) {
  if (auto v = r.whole_number(node, "releases", what, 0)) {
    if (*v > 20) r.fail(node["releases"].Mark(), fmt::format("{} releases: {} is more than 20 versions", what, *v));
    c.releases = *v;
  }
  if (Reader::has(node, "release_pattern")) {
    if (!Reader::has(node, "releases"))
      r.fail(node["release_pattern"].Mark(), fmt::format("{} release_pattern needs releases: N", what));
    c.release_pattern = r.scalar(node["release_pattern"], what + " release_pattern");
    try {
      std::regex check(c.release_pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      r.fail(node["release_pattern"].Mark(),
             fmt::format("{} release_pattern '{}' is not a regular expression: {}", what, c.release_pattern, e.what()));
    }
  }
  c.refs = r.string_list(node, "refs", what);
  for (size_t i = 0; i < c.refs.size(); ++i) {
    const YAML::Node at = node["refs"].IsSequence() ? node["refs"][i] : node["refs"];
    if (!is_version_name(c.refs[i])) {
      r.fail(at.Mark(), fmt::format("{} refs: '{}' must be a branch or tag of letters, digits, '.', '_', '-', '+' "
                                    "(it becomes part of the consumer's name: {}@{})",
                                    what, c.refs[i], c.name, c.refs[i]));
    }
    if (c.refs[i] == c.ref || std::find(c.refs.begin(), c.refs.begin() + static_cast<long>(i), c.refs[i]) !=
                                  c.refs.begin() + static_cast<long>(i)) {
      r.fail(at.Mark(), fmt::format("{} refs: '{}' is listed twice (with ref)", what, c.refs[i]));
    }
  }
}

// name, runner, repo, ref.
void read_identity(const Reader& r, const YAML::Node& node, const std::filesystem::path& dir, std::string& what,
                   Consumer& c) {
  YAML::Node name_node = r.required(node, "name", what);
  c.name = r.scalar(name_node, what + ".name");
  bool name_ok = !c.name.empty() && c.name.size() <= 64 && std::isalnum(static_cast<unsigned char>(c.name.front())) &&
                 std::all_of(c.name.begin(), c.name.end(), [](char ch) {
                   return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
                 });
  if (!name_ok) {
    r.fail(name_node.Mark(),
           fmt::format("{}.name '{}' must be letters, digits, '.', '_', '-' (at most 64)", what, c.name));
  }
  what = fmt::format("consumer '{}'", c.name);
  r.check_keys(node, what,
               {"name",
                "repo",
                "ref",
                "releases",
                "release_pattern",
                "refs",
                "setup",
                "run",
                "env",
                "timeout",
                "junit",
                "submodules",
                "token_env",
                "token_user",
                "checkout_timeout",
                "runner",
                "tests",
                "shards",
                "parallel",
                "serial_groups",
                "test_timeout",
                "retries",
                "baseline",
                "policy",
                "prebuild",
                "services",
                "cache_paths",
                "cache_key",
                "flaky_reruns",
                "baseline_reruns",
                "max_pre_existing",
                "runs_per_test",
                "rerun_when_blocked"});
  if (Reader::has(node, "runner")) {
    c.runner =
        static_cast<RunnerKind>(r.choice(node["runner"], what + " runner", {"command", "pytest", "ctest", "go"}));
  }
  YAML::Node repo_node = r.required(node, "repo", what);
  c.repo = r.env_string(repo_node, what + " repo");
  if (c.repo.empty()) r.fail(repo_node.Mark(), what + ": repo is empty");
  if (!looks_like_url(c.repo)) {
    std::filesystem::path path = c.repo;
    c.repo = (path.is_absolute() ? path : dir / path).lexically_normal().string();
  }
  if (Reader::has(node, "ref")) c.ref = r.env_string(node["ref"], what + " ref");
  read_versions(r, node, what, c);
}

// setup, run, env, timeout.
void read_commands(const Reader& r, const YAML::Node& node, const std::string& what, Consumer& c) {
  if (YAML::Node n = node["setup"]; Reader::has(node, "setup")) {
    if (n.IsSequence()) {
      for (const auto& item : n) c.setup.push_back(r.command(item, what + " setup", false));
    } else {
      c.setup.push_back(r.command(n, what + " setup", false));
    }
  }
  if (c.knows_tests() && !Reader::has(node, "run")) {
    // How to start the tool; gate adds the test selection and its own options.
    std::vector<const char*> tool = c.runner == RunnerKind::pytest ? std::vector<const char*>{"python3", "-m", "pytest"}
                                    : c.runner == RunnerKind::ctest
                                        ? std::vector<const char*>{"ctest", "--test-dir", "build"}
                                        : std::vector<const char*>{"go"};
    for (const char* part : tool) c.run.argv.push_back(Template{part, c.mark});
  } else {
    c.run = r.command(r.required(node, "run", what), what + " run", true);
    if (c.knows_tests() && c.run.shell) {
      r.fail(node["run"].Mark(), fmt::format("{} run: with runner {} it is how to start the tool, as a list "
                                             "(e.g. [\"python3\", \"-m\", \"pytest\"]); gate adds the tests",
                                             what, runner_name(c.runner)));
    }
  }
  if (YAML::Node n = node["env"]; Reader::has(node, "env")) {
    r.expect_map(n, what + " env");
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = r.scalar(it->first, what + " env key");
      if (!Reader::is_env_var_name(key)) {
        r.fail(it->first.Mark(), fmt::format("{} env: '{}' is not a valid variable name", what, key));
      }
      c.env.emplace_back(key, r.template_of(it->second, fmt::format("{} env {}", what, key), kTestTime));
    }
  }
  if (auto t = r.duration(node, "timeout", what, "90s, 15m, 1h30m")) c.timeout = *t;
}

// The suite engine's keys, and which need a runner that knows single tests.
void read_suite_engine(const Reader& r, const YAML::Node& node, const std::string& what, Consumer& c) {
  if (auto v = r.whole_number(node, "shards", what, 1)) c.shards = *v;
  if (auto v = r.whole_number(node, "parallel", what, 1)) c.parallel = *v;
  if (auto v = r.whole_number(node, "retries", what, 0)) c.retries = *v;
  if (auto v = r.whole_number(node, "runs_per_test", what, 1)) c.runs_per_test = *v;
  if (auto v = r.whole_number(node, "flaky_reruns", what, 0)) c.flaky_reruns = *v;
  if (auto v = r.whole_number(node, "baseline_reruns", what, 0)) c.baseline_reruns = *v;
  if (Reader::has(node, "max_pre_existing"))
    c.max_pre_existing = read_limit(r, node["max_pre_existing"], what + " max_pre_existing");
  c.tests = r.string_list(node, "tests", what);
  c.serial_groups = r.string_list(node, "serial_groups", what);
  if (!c.knows_tests()) {
    for (const char* key : {"tests", "shards", "parallel", "serial_groups", "test_timeout"}) {
      if (Reader::has(node, key)) {
        r.fail(node[key].Mark(), fmt::format("{} {} needs a runner that knows single tests (runner: pytest); "
                                             "with runner: command the whole run is one unit",
                                             what, key));
      }
    }
    // Rerunning the whole command and comparing test by test needs its tests.
    for (const char* key : {"retries", "baseline", "flaky_reruns", "baseline_reruns", "max_pre_existing",
                            "runs_per_test", "rerun_when_blocked"}) {
      if (Reader::has(node, key) && !Reader::has(node, "junit")) {
        r.fail(node[key].Mark(),
               fmt::format("{} {} with runner: command needs junit (the reports that name its tests)", what, key));
      }
    }
  }
  if (auto t = r.duration(node, "test_timeout", what, "30s, 2m")) c.test_timeout = *t;
  if (auto v = r.boolean(node, "prebuild", what)) {
    if (c.runner != RunnerKind::go) r.fail(node["prebuild"].Mark(), fmt::format("{} prebuild is for runner: go", what));
    c.prebuild = *v;
  }
  if (auto v = r.boolean(node, "baseline", what)) c.baseline = *v;
  if (auto v = r.boolean(node, "rerun_when_blocked", what)) c.rerun_when_blocked = *v;
  if (Reader::has(node, "policy")) c.policy = read_policy(r, node["policy"], what + " policy");
}

// cache_paths and cache_key: what setup makes, kept between runs.
void read_setup_cache(const Reader& r, const YAML::Node& node, const std::string& what, Consumer& c) {
  c.cache_paths = r.string_list(node, "cache_paths", what);
  for (const auto& path : c.cache_paths) {
    if (path.empty() || path.front() == '/' || path.find("..") != std::string::npos) {
      r.fail(node["cache_paths"].Mark(),
             fmt::format("{} cache_paths: '{}' must be a path inside the checkout", what, path));
    }
  }
  if (Reader::has(node, "cache_key")) c.cache_key = r.env_string(node["cache_key"], what + " cache_key");
  if (!c.cache_paths.empty() && !node["setup"].IsDefined()) {
    r.fail(node["cache_paths"].Mark(),
           fmt::format("{} cache_paths caches what setup makes, and there is no setup", what));
  }
}

// submodules, token_env, token_user, checkout_timeout.
void read_checkout(const Reader& r, const YAML::Node& node, const std::string& what, Consumer& c) {
  if (auto v = r.boolean(node, "submodules", what)) c.submodules = *v;
  if (YAML::Node n = node["token_env"]; Reader::has(node, "token_env")) {
    c.token_env = r.scalar(n, what + " token_env");
    if (!Reader::is_env_var_name(c.token_env)) {
      r.fail(n.Mark(), fmt::format("{} token_env '{}' is not an environment variable name", what, c.token_env));
    }
  }
  if (Reader::has(node, "token_user")) c.token_user = r.scalar(node["token_user"], what + " token_user");
  if (auto t = r.duration(node, "checkout_timeout", what, "90s, 5m")) c.checkout_timeout = *t;
}

void read_junit(const Reader& r, const YAML::Node& node, const std::string& what, Consumer& c) {
  if (!Reader::has(node, "junit")) return;
  YAML::Node n = node["junit"];
  c.junit = r.env_string(n, what + " junit");
  auto parts = std::filesystem::path(*c.junit);
  bool climbs = std::any_of(parts.begin(), parts.end(), [](const auto& part) { return part == ".."; });
  if (c.junit->empty() || parts.is_absolute() || climbs) {
    r.fail(n.Mark(), fmt::format("{} junit must be a glob inside the checkout (relative, without '..')", what));
  }
}

}  // namespace

std::string_view runner_name(RunnerKind kind) {
  switch (kind) {
    case RunnerKind::pytest: return "pytest";
    case RunnerKind::ctest: return "ctest";
    case RunnerKind::go: return "go";
    case RunnerKind::command: break;
  }
  return "command";
}

Consumer read_consumer(const Reader& r, const YAML::Node& node, const std::filesystem::path& dir, size_t index) {
  std::string what = fmt::format("consumers[{}]", index);
  r.expect_map(node, what);
  Consumer c;
  c.mark = Reader::mark_of(node);
  read_identity(r, node, dir, what, c);  // `what` becomes "consumer 'NAME'"
  read_commands(r, node, what, c);
  read_suite_engine(r, node, what, c);
  read_setup_cache(r, node, what, c);
  if (YAML::Node n = node["services"]; Reader::has(node, "services")) {
    if (!n.IsSequence()) r.fail(n.Mark(), fmt::format("{} services must be a list, found {}", what, Reader::kind(n)));
    std::set<std::string> names;
    for (size_t i = 0; i < n.size(); ++i) c.services.push_back(read_service(r, n[i], what, i, names));
  }
  read_checkout(r, node, what, c);
  read_junit(r, node, what, c);
  return c;
}

}  // namespace gate::config

// One consumer of gate.yaml: what to check out, how to run and judge it.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

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
    service.ready_timeout = r.duration(t, sw + " ready_timeout", "10s, 2m");
  }
  return service;
}

}  // namespace

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
                            "cache_paths", "cache_key", "flaky_reruns", "baseline_reruns", "max_pre_existing",
                            "runs_per_test", "rerun_when_blocked"});
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
  int_key("runs_per_test", 1, &c.runs_per_test);
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
    for (const char* key : {"retries", "baseline", "flaky_reruns", "baseline_reruns", "max_pre_existing", "runs_per_test",
                            "rerun_when_blocked"}) {
      if (node[key].IsDefined() && !node[key].IsNull() && (!node["junit"].IsDefined() || node["junit"].IsNull())) {
        r.fail(node[key].Mark(), fmt::format("{} {} with runner: command needs junit (the reports that name its tests)",
                                             what, key));
      }
    }
  }
  if (YAML::Node n = node["test_timeout"]; n.IsDefined() && !n.IsNull()) {
    c.test_timeout = r.duration(n, what + " test_timeout", "30s, 2m");
  }
  if (YAML::Node n = node["services"]; n.IsDefined() && !n.IsNull()) {
    if (!n.IsSequence()) r.fail(n.Mark(), fmt::format("{} services must be a list, found {}", what, Reader::kind(n)));
    std::set<std::string> names;
    for (size_t i = 0; i < n.size(); ++i) c.services.push_back(read_service(r, n[i], what, i, names));
  }
  auto bool_key = [&](const char* key, bool* out) {
    YAML::Node n = node[key];
    if (!n.IsDefined() || n.IsNull()) return false;
    std::string text = r.scalar(n, what + " " + key);
    if (text != "true" && text != "false") r.fail(n.Mark(), fmt::format("{} {} must be true or false, found '{}'", what, key, text));
    *out = text == "true";
    return true;
  };
  if (bool_key("prebuild", &c.prebuild) && c.runner != "go") {
    r.fail(node["prebuild"].Mark(), fmt::format("{} prebuild is for runner: go", what));
  }
  bool_key("baseline", &c.baseline);
  bool_key("rerun_when_blocked", &c.rerun_when_blocked);
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
    c.timeout = r.duration(n, what + " timeout", "90s, 15m, 1h30m");
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
    c.checkout_timeout = r.duration(n, what + " checkout_timeout", "90s, 5m");
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

}  // namespace gate::config

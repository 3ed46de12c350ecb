#include "engine/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "engine/engine_api.h"
#include "process/runner.h"

namespace gate::engine {
namespace {

std::string last_lines(const std::string& output, size_t count) {
  size_t pos = output.size();
  while (pos > 0 && (output[pos - 1] == '\n' || output[pos - 1] == '\r')) --pos;
  size_t end = pos;
  for (size_t n = 0; n < count && pos > 0; ++n) {
    pos = output.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  std::string text = output.substr(pos, end - pos);
  while (!text.empty() && text.front() == '\n') text.erase(0, 1);
  return text;
}

std::string trim(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(0, 1);
  return text;
}

}  // namespace

// The docker CLI, run as a child for each operation: it honours DOCKER_HOST
// and docker contexts exactly as the user's own commands do.
// The docker CLI for what changes the engine (build, push, run, stop, rm)
// and where the engine is not surely its default socket; the socket's API
// for the queries every run makes (reachable? which containers? an image's
// ID?), which would otherwise cost a CLI start each.
class DockerCli final : public Engine {
 public:
  DockerCli() {
    if (auto socket = EngineApi::socket_path(); socket && std::filesystem::exists(*socket)) api_.emplace(*socket);
  }
  void check_reachable() const override;
  void build(const BuildRequest& request) const override;
  void push(const std::string& tag, const std::filesystem::path& log_file) const override;
  std::vector<std::string> containers_from(const std::vector<std::string>& images) const override;
  std::string image_id(const std::string& image) const override;
  std::string run_detached(const std::string& image, const std::vector<int>& ports,
                           const std::map<std::string, std::string>& env, const std::string& label,
                           const std::vector<std::string>& volumes,
                           const std::map<int, int>& host_ports) const override;
  std::string host_port(const std::string& container, int port) const override;
  bool is_running(const std::string& container) const override;
  std::string logs_tail(const std::string& container, int lines) const override;
  void stop(const std::string& container, int grace_seconds) const override;
  void remove_containers(const std::vector<std::string>& container_ids) const override;

 private:
  std::optional<EngineApi> api_;
};

std::unique_ptr<Engine> docker_cli() { return std::make_unique<DockerCli>(); }

std::string engine_address() {
  if (const char* host = std::getenv("DOCKER_HOST"); host && *host) return host;
  return "unix:///var/run/docker.sock";
}

void DockerCli::check_reachable() const {
  if (api_ && api_->ping()) {
    // The socket answered, but builds, pushes and service containers still
    // go through the CLI: a machine without it fails here, not mid-run.
    process::Spec cli;
    cli.argv = {"docker"};
    try {
      process::resolve_program(cli);
    } catch (const InfraError& e) {
      throw InfraError(
          fmt::format("container engine: {}; install the docker CLI (apt-get install docker.io)", e.what()));
    }
    return;
  }
  process::Result result;
  try {
    result = process::capture({"docker", "version", "--format", "{{.Server.Version}}"}, std::chrono::seconds(20));
  } catch (const InfraError& e) {
    throw InfraError(fmt::format("container engine: {}; install the docker CLI (apt-get install docker.io)", e.what()));
  }
  if (result.interrupted) throw Interrupted();
  if (!result.ok() || trim(result.output).empty()) {
    throw InfraError(
        fmt::format("container engine not reachable at {} ({}): {}\n"
                    "  start one with scripts/bootstrap (starts dockerd), or run: dockerd >/var/log/dockerd.log 2>&1 &",
                    engine_address(), result.describe(), last_lines(result.output, 2)));
  }
}

void DockerCli::build(const BuildRequest& request) const {
  std::vector<std::string> argv{"docker", "build", "--tag", request.tag};
  if (!request.dockerfile.empty()) {
    std::filesystem::path dockerfile = request.dockerfile;
    if (dockerfile.is_relative()) dockerfile = request.context / dockerfile;
    argv.insert(argv.end(), {"--file", dockerfile.string()});
  }
  for (const auto& [key, value] : request.build_args) {
    argv.insert(argv.end(), {"--build-arg", key + "=" + value});
  }
  for (const auto& [key, value] : request.labels) argv.insert(argv.end(), {"--label", key + "=" + value});
  argv.push_back(request.context.string());
  process::Spec spec;
  spec.argv = argv;
  spec.log_file = request.log_file;
  spec.on_line = [](std::string_view line) { log::child_line("build", line); };
  auto result = process::run(spec);
  if (result.interrupted) throw Interrupted();
  if (!result.ok()) {
    throw InfraError(fmt::format("build {} from {} failed ({}):\n{}", request.tag, request.context.string(),
                                 result.describe(), last_lines(result.output, 8)));
  }
}

void DockerCli::push(const std::string& tag, const std::filesystem::path& log_file) const {
  process::Spec spec;
  spec.argv = {"docker", "push", tag};
  spec.log_file = log_file;
  spec.on_line = [](std::string_view line) { log::child_line("push", line); };
  auto result = process::run(spec);
  if (result.interrupted) throw Interrupted();
  if (!result.ok()) {
    throw InfraError(fmt::format("push {} failed ({}): {}", tag, result.describe(), last_lines(result.output, 4)));
  }
}

std::vector<std::string> DockerCli::containers_from(const std::vector<std::string>& images) const {
  std::vector<std::string> containers;
  if (images.empty()) return containers;
  if (api_) {
    if (auto ids = api_->containers_from(images)) {
      for (auto& id : *ids)
        if (std::find(containers.begin(), containers.end(), id) == containers.end()) containers.push_back(id);
      return containers;
    }
  }
  // Several ancestor filters are OR'ed: one engine call for all references.
  std::vector<std::string> argv{"docker", "ps", "--all", "--quiet", "--no-trunc"};
  for (const auto& image : images) argv.insert(argv.end(), {"--filter", "ancestor=" + image});
  auto listed = process::capture(argv, std::chrono::seconds(30), /*ignore_interrupt=*/true);
  if (!listed.ok()) {
    log::warn(fmt::format("could not list containers of {}: {}", images.front(), last_lines(listed.output, 2)));
    return containers;
  }
  std::istringstream lines(listed.output);
  for (std::string line; std::getline(lines, line);) {
    line = trim(line);
    if (!line.empty() && std::find(containers.begin(), containers.end(), line) == containers.end()) {
      containers.push_back(line);
    }
  }
  return containers;
}

void DockerCli::remove_containers(const std::vector<std::string>& container_ids) const {
  if (container_ids.empty()) return;
  std::vector<std::string> argv{"docker", "rm", "--force", "--volumes"};
  argv.insert(argv.end(), container_ids.begin(), container_ids.end());
  auto result = process::capture(argv, std::chrono::seconds(60), /*ignore_interrupt=*/true);
  if (!result.ok()) log::warn(fmt::format("could not remove containers: {}", last_lines(result.output, 2)));
}

std::string DockerCli::run_detached(const std::string& image, const std::vector<int>& ports,
                                    const std::map<std::string, std::string>& env, const std::string& label,
                                    const std::vector<std::string>& volumes,
                                    const std::map<int, int>& host_ports) const {
  std::vector<std::string> argv{"docker", "run", "--detach", "--label", "gate.service=" + label};
  for (const auto& dir : volumes) argv.insert(argv.end(), {"--volume", dir + ":" + dir});
  for (int port : ports) {
    auto fixed = host_ports.find(port);
    argv.insert(argv.end(),
                {"--publish", fixed == host_ports.end() ? fmt::format("127.0.0.1::{}", port)
                                                        : fmt::format("127.0.0.1:{}:{}", fixed->second, port)});
  }
  for (const auto& [key, value] : env) argv.insert(argv.end(), {"--env", key + "=" + value});
  argv.push_back(image);
  auto result = process::capture(argv, std::chrono::minutes(5));
  if (result.interrupted) throw Interrupted();
  if (!result.ok()) {
    throw InfraError(fmt::format("start service {} from {} failed ({}): {}", label, image, result.describe(),
                                 last_lines(result.output, 3)));
  }
  return last_lines(result.output, 1);
}

std::string DockerCli::image_id(const std::string& image) const {
  if (api_) {
    if (auto id = api_->image_id(image)) return *id;
  }
  auto result =
      process::capture({"docker", "image", "inspect", "--format", "{{.Id}}", image}, std::chrono::seconds(30), true);
  return result.ok() ? trim(result.output) : "";
}

std::string DockerCli::host_port(const std::string& container, int port) const {
  auto result =
      process::capture({"docker", "port", container, fmt::format("{}/tcp", port)}, std::chrono::seconds(30), true);
  if (!result.ok())
    throw InfraError(fmt::format("docker port {} {}: {}", container, port, last_lines(result.output, 2)));
  std::istringstream lines(result.output);
  std::string first;
  std::getline(lines, first);
  return trim(first);
}

bool DockerCli::is_running(const std::string& container) const {
  auto result = process::capture({"docker", "inspect", "--format", "{{.State.Running}}", container},
                                 std::chrono::seconds(30), true);
  return result.ok() && trim(result.output) == "true";
}

std::string DockerCli::logs_tail(const std::string& container, int lines) const {
  auto result =
      process::capture({"docker", "logs", "--tail", std::to_string(lines), container}, std::chrono::seconds(30), true);
  return last_lines(result.output, static_cast<size_t>(lines));
}

void DockerCli::stop(const std::string& container, int grace_seconds) const {
  process::capture({"docker", "stop", "--time", std::to_string(grace_seconds), container},
                   std::chrono::seconds(grace_seconds + 30), true);
  remove_containers({container});
}

}  // namespace gate::engine

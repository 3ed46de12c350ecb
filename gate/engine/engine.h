#pragma once
// The container engine, reached through the docker CLI (which honours
// DOCKER_HOST and docker contexts exactly as the user's own commands do).
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gate::engine {

struct BuildRequest {
  std::filesystem::path context;
  std::string dockerfile;  // empty = <context>/Dockerfile
  std::map<std::string, std::string> build_args;
  std::string tag;         // full "registry/repo:tag"
  std::filesystem::path log_file;
};

class Engine {
 public:
  // Throws InfraError saying the engine is not reachable and how to start it.
  void check_reachable() const;
  // Builds and tags the image; throws InfraError with the build's last output.
  void build(const BuildRequest& request) const;
  // Pushes a tag; throws InfraError on failure.
  void push(const std::string& tag, const std::filesystem::path& log_file) const;
  // IDs of every container (any state) created from any of these images
  // (references or IDs; ones the engine does not have match nothing).
  std::vector<std::string> containers_from(const std::vector<std::string>& images) const;
  // The local image ID ("sha256:...") of a reference, or "" when the engine
  // does not have it.
  std::string image_id(const std::string& image) const;
  // Starts a container in the background; container ports are published
  // on random loopback ports. Returns its ID; throws InfraError.
  // `volumes`: host directories mounted at the same path inside.
  // `host_ports`: container port -> fixed loopback host port.
  std::string run_detached(const std::string& image, const std::vector<int>& ports,
                           const std::map<std::string, std::string>& env, const std::string& label,
                           const std::vector<std::string>& volumes = {},
                           const std::map<int, int>& host_ports = {}) const;
  // "127.0.0.1:49153" for a published container port.
  std::string host_port(const std::string& container, int port) const;
  bool is_running(const std::string& container) const;
  std::string logs_tail(const std::string& container, int lines) const;
  // SIGTERM, `grace_seconds` to exit (so coverage counters can be written),
  // then removed. Runs even during an interrupt.
  void stop(const std::string& container, int grace_seconds) const;
  // Removes (force) these containers. Runs even during an interrupt.
  void remove_containers(const std::vector<std::string>& container_ids) const;
};

// Where the engine is, for messages: DOCKER_HOST or the default socket.
std::string engine_address();

}  // namespace gate::engine

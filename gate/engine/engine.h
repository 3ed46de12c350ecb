#pragma once
// The container engine, reached through the docker CLI (which honours
// DOCKER_HOST and docker contexts exactly as the user's own commands do).
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gate::engine {

struct BuildRequest {
  std::filesystem::path context;
  std::string dockerfile;  // empty = <context>/Dockerfile
  std::map<std::string, std::string> build_args;
  std::string tag;  // full "registry/repo:tag"
  std::filesystem::path log_file;
  std::map<std::string, std::string> labels;  // put on the image
};

// What gate asks of a container engine. docker_cli() is the real one; a
// unit test can stand in another without a daemon.
class Engine {
 public:
  virtual ~Engine() = default;
  // Throws InfraError saying the engine is not reachable and how to start it.
  virtual void check_reachable() const = 0;
  // Builds and tags the image; throws InfraError with the build's last output.
  virtual void build(const BuildRequest& request) const = 0;
  // Pushes a tag; throws InfraError on failure.
  virtual void push(const std::string& tag, const std::filesystem::path& log_file) const = 0;
  // IDs of every container (any state) created from any of these images
  // (references or IDs; ones the engine does not have match nothing).
  virtual std::vector<std::string> containers_from(const std::vector<std::string>& images) const = 0;
  // The local image ID ("sha256:...") of a reference, or "" when the engine
  // does not have it.
  virtual std::string image_id(const std::string& image) const = 0;
  // Starts a container in the background; container ports are published
  // on random loopback ports. Returns its ID; throws InfraError.
  // `volumes`: host directories mounted at the same path inside.
  // `host_ports`: container port -> fixed loopback host port.
  virtual std::string run_detached(const std::string& image, const std::vector<int>& ports,
                                   const std::map<std::string, std::string>& env, const std::string& label,
                                   const std::vector<std::string>& volumes,
                                   const std::map<int, int>& host_ports) const = 0;
  // "127.0.0.1:49153" for a published container port.
  virtual std::string host_port(const std::string& container, int port) const = 0;
  virtual bool is_running(const std::string& container) const = 0;
  virtual std::string logs_tail(const std::string& container, int lines) const = 0;
  // SIGTERM, `grace_seconds` to exit (so coverage counters can be written),
  // then removed. Runs even during an interrupt.
  virtual void stop(const std::string& container, int grace_seconds) const = 0;
  // Removes (force) these containers. Runs even during an interrupt.
  virtual void remove_containers(const std::vector<std::string>& container_ids) const = 0;
};

// The engine reached through the docker CLI (DOCKER_HOST and contexts honoured).
std::unique_ptr<Engine> docker_cli();

// Where the engine is, for messages: DOCKER_HOST or the default socket.
std::string engine_address();

}  // namespace gate::engine

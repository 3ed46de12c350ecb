#pragma once
// The engine's own HTTP API on its unix socket, for the queries gate makes
// on every run (is it there, which containers came from these images, an
// image's ID, is a container running). Each docker CLI start costs ~50 ms
// on this kind of machine; a request on the socket well under 1 ms. Used
// only where the socket is certain (DOCKER_HOST unset or unix://, no
// docker context chosen); the CLI stays the way for everything else.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gate::engine {

class EngineApi {
 public:
  // The engine's socket, when gate can be sure it is the one the docker
  // CLI would talk to; nullopt otherwise (a tcp:// host, a context).
  static std::optional<std::filesystem::path> socket_path();

  explicit EngineApi(std::filesystem::path socket) : socket_(std::move(socket)) {}

  struct Answer {
    long status = 0;  // 0: no answer (the message says why)
    std::string body;
    std::string message;
  };
  Answer get(const std::string& path, std::chrono::milliseconds timeout) const;

  // GET /_ping answered "OK".
  bool ping() const;
  // IDs of every container (any state) from any of these images; nullopt
  // when the engine did not answer as expected (the caller asks the CLI).
  std::optional<std::vector<std::string>> containers_from(const std::vector<std::string>& images) const;
  // The local image ID, "" when the engine does not have it; nullopt when
  // it did not answer as expected.
  std::optional<std::string> image_id(const std::string& image) const;

 private:
  std::filesystem::path socket_;
};

// The query string value of a filter: {"ancestor":["a","b"]}, URL-encoded.
std::string ancestor_filter(const std::vector<std::string>& images);

}  // namespace gate::engine

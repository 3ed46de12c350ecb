#pragma once
// The engine's own HTTP API on its unix socket, for the queries gate makes
// on every run (is it there, which containers came from these images, an
// image's ID, is a container running). Each docker CLI start costs ~50 ms
// on this kind of machine; a request on the socket well under 1 ms. Used
// only where the socket is certain (DOCKER_HOST unset or unix://, no
// docker context chosen); the CLI stays the way for everything else.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
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

// A GET on the engine's socket whose body is read line by line as it comes
// (GET /events streams until the engine or the reader ends it). stop(), from
// any thread, ends run() at once: a watch that stops at the end of every run
// must not wait for the engine's next event.
class LineStream {
 public:
  LineStream(std::filesystem::path socket, std::string path);
  ~LineStream();
  LineStream(const LineStream&) = delete;
  LineStream& operator=(const LineStream&) = delete;

  // Blocks until the body ends, stop() is called, or the connection fails;
  // `on_line` gets each complete line. The answer's status is 0 when the
  // engine did not answer (the message says why).
  EngineApi::Answer run(const std::function<void(std::string_view)>& on_line);
  void stop();

 private:
  std::filesystem::path socket_;
  std::string path_;
  void* multi_;  // CURLM*
  std::atomic<bool> stopping_{false};
};

// The query string value of a filter: {"ancestor":["a","b"]}, URL-encoded.
std::string ancestor_filter(const std::vector<std::string>& images);
// Any filter, as the engine's query strings take them: {"type":["container"]}.
std::string encoded_filter(const std::string& key, const std::vector<std::string>& values);

}  // namespace gate::engine

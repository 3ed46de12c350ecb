// The engine's API on its socket, against a stand-in that answers one
// request with a canned response: what gate asks and how it reads the
// answer, without a daemon.
#include "engine/engine_api.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

using gate::engine::EngineApi;

namespace {

// Serves one connection on a unix socket: records the request line and
// answers `status` with `body`.
class OneAnswer {
 public:
  OneAnswer(int status, std::string body) {
    path_ = std::filesystem::temp_directory_path() / ("gate-engine-api-" + std::to_string(::getpid()) + ".sock");
    std::filesystem::remove(path_);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    server_ = std::thread([this, status, body] {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char buffer[4096];
      ssize_t n = ::read(client, buffer, sizeof(buffer));
      std::string request(buffer, n > 0 ? static_cast<size_t>(n) : 0);
      request_line_ = request.substr(0, request.find("\r\n"));
      std::string answer = "HTTP/1.1 " + std::to_string(status) +
                           " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                           body;
      (void)!::write(client, answer.data(), answer.size());
      ::close(client);
    });
  }
  ~OneAnswer() {
    if (server_.joinable()) server_.join();
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string request_line() {
    if (server_.joinable()) server_.join();
    return request_line_;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::thread server_;
  std::string request_line_;
};

}  // namespace

TEST(EngineApi, ListsTheContainersOfTheImagesInOneRequest) {
  OneAnswer engine(200, R"([{"Id":"aaa","Image":"x"},{"Id":"bbb","Image":"y"}])");
  auto ids = EngineApi(engine.path()).containers_from({"reg/x@sha256:1", "reg/y:tag"});
  ASSERT_TRUE(ids.has_value());
  EXPECT_EQ(*ids, (std::vector<std::string>{"aaa", "bbb"}));
  EXPECT_EQ(engine.request_line(), "GET /containers/json?all=1&filters=" +
                                       gate::engine::ancestor_filter({"reg/x@sha256:1", "reg/y:tag"}) + " HTTP/1.1");
}

TEST(EngineApi, AnAnswerItCannotReadIsNoAnswer) {
  OneAnswer engine(500, "boom");
  EXPECT_FALSE(EngineApi(engine.path()).containers_from({"x"}).has_value());
  OneAnswer odd(200, R"({"not":"a list"})");
  EXPECT_FALSE(EngineApi(odd.path()).containers_from({"x"}).has_value());
}

TEST(EngineApi, AnImageTheEngineLacksHasNoId) {
  OneAnswer missing(404, R"({"message":"No such image"})");
  EXPECT_EQ(EngineApi(missing.path()).image_id("reg/x:1"), std::optional<std::string>(""));
  OneAnswer there(200, R"({"Id":"sha256:abc"})");
  EXPECT_EQ(EngineApi(there.path()).image_id("reg/x:1"), std::optional<std::string>("sha256:abc"));
  EXPECT_EQ(there.request_line(), "GET /images/reg/x:1/json HTTP/1.1");
}

TEST(EngineApi, NoSocketIsNoAnswer) {
  EngineApi api("/nonexistent/engine.sock");
  EXPECT_FALSE(api.ping());
  EXPECT_EQ(api.get("/_ping", std::chrono::seconds(1)).status, 0);
}

TEST(EngineApi, OnlyTheDefaultSocketOrAUnixHostIsUsed) {
  const char* saved = std::getenv("DOCKER_HOST");
  std::string keep = saved ? saved : "";
  ::setenv("DOCKER_HOST", "tcp://10.0.0.1:2375", 1);
  EXPECT_FALSE(EngineApi::socket_path().has_value());
  ::setenv("DOCKER_HOST", "unix:///run/other.sock", 1);
  EXPECT_EQ(EngineApi::socket_path(), std::optional<std::filesystem::path>("/run/other.sock"));
  ::setenv("DOCKER_CONTEXT", "remote", 1);
  EXPECT_FALSE(EngineApi::socket_path().has_value());
  ::unsetenv("DOCKER_CONTEXT");
  if (saved) {
    ::setenv("DOCKER_HOST", keep.c_str(), 1);
  } else {
    ::unsetenv("DOCKER_HOST");
  }
}

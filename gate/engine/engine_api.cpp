#include "engine/engine_api.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

namespace gate::engine {

namespace {

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::optional<std::filesystem::path> EngineApi::socket_path() {
  // A context picks another engine the way the CLI does; gate would have to
  // read the CLI's configuration to follow it: it leaves that to the CLI.
  if (const char* context = std::getenv("DOCKER_CONTEXT"); context && *context) return std::nullopt;
  std::string host = "unix:///var/run/docker.sock";
  if (const char* set = std::getenv("DOCKER_HOST"); set && *set) {
    host = set;
  } else {
    const char* home = std::getenv("HOME");
    std::error_code ec;
    const char* config_dir = std::getenv("DOCKER_CONFIG");
    const std::filesystem::path config = config_dir && *config_dir
                                             ? std::filesystem::path(config_dir) / "config.json"
                                             : std::filesystem::path(home ? home : "/") / ".docker" / "config.json";
    if (std::filesystem::exists(config, ec)) {
      std::ifstream in(config);
      auto json = nlohmann::json::parse(in, nullptr, false);
      if (json.is_object() && !json.value("currentContext", "").empty() &&
          json.value("currentContext", "") != "default")
        return std::nullopt;
    }
  }
  if (host.rfind("unix://", 0) != 0) return std::nullopt;
  return std::filesystem::path(host.substr(7));
}

EngineApi::Answer EngineApi::get(const std::string& path, std::chrono::milliseconds timeout) const {
  Answer answer;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    answer.message = "curl_easy_init failed";
    return answer;
  }
  CURL* c = curl.get();
  const std::string url = "http://engine" + path;
  const std::string socket = socket_.string();
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer.body);
  CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    answer.message = error[0] ? error : curl_easy_strerror(code);
    return answer;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

bool EngineApi::ping() const {
  Answer answer = get("/_ping", std::chrono::seconds(20));
  return answer.status == 200 && answer.body == "OK";
}

std::string encoded_filter(const std::string& key, const std::vector<std::string>& values) {
  return url_encode(nlohmann::json{{key, values}}.dump());
}

std::string ancestor_filter(const std::vector<std::string>& images) { return encoded_filter("ancestor", images); }

namespace {

struct LineSplitter {
  const std::function<void(std::string_view)>* on_line;
  std::string pending;
};

size_t on_stream_body(char* data, size_t size, size_t count, void* user) {
  auto* splitter = static_cast<LineSplitter*>(user);
  splitter->pending.append(data, size * count);
  size_t start = 0;
  for (size_t end; (end = splitter->pending.find('\n', start)) != std::string::npos; start = end + 1) {
    (*splitter->on_line)(std::string_view(splitter->pending).substr(start, end - start));
  }
  splitter->pending.erase(0, start);
  return size * count;
}

}  // namespace

LineStream::LineStream(std::filesystem::path socket, std::string path)
    : socket_(std::move(socket)), path_(std::move(path)), multi_(curl_multi_init()) {}

LineStream::~LineStream() {
  if (multi_) curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void LineStream::stop() {
  stopping_ = true;
  if (multi_) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

EngineApi::Answer LineStream::run(const std::function<void(std::string_view)>& on_line) {
  EngineApi::Answer answer;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl || !multi_) {
    answer.message = "curl_easy_init or curl_multi_init failed";
    return answer;
  }
  CURL* c = curl.get();
  CURLM* multi = static_cast<CURLM*>(multi_);
  const std::string url = "http://engine" + path_;
  const std::string socket = socket_.string();
  LineSplitter splitter{&on_line, {}};
  curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &splitter);
  curl_multi_add_handle(multi, c);
  CURLcode code = CURLE_OK;
  for (int running = 1; running && !stopping_;) {
    if (curl_multi_perform(multi, &running) != CURLM_OK) break;
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg == CURLMSG_DONE) code = message->data.result;
    }
    if (running && !stopping_) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_multi_remove_handle(multi, c);
  if (code != CURLE_OK) answer.message = curl_easy_strerror(code);
  return answer;
}

std::optional<std::vector<std::string>> EngineApi::containers_from(const std::vector<std::string>& images) const {
  Answer answer = get("/containers/json?all=1&filters=" + ancestor_filter(images), std::chrono::seconds(30));
  if (answer.status != 200) return std::nullopt;
  auto listing = nlohmann::json::parse(answer.body, nullptr, false);
  if (!listing.is_array()) return std::nullopt;
  std::vector<std::string> ids;
  for (const auto& container : listing) {
    if (!container.is_object() || !container.contains("Id") || !container["Id"].is_string()) return std::nullopt;
    ids.push_back(container["Id"].get<std::string>());
  }
  return ids;
}

std::optional<std::string> EngineApi::image_id(const std::string& image) const {
  Answer answer = get("/images/" + image + "/json", std::chrono::seconds(30));
  if (answer.status == 404) return std::string();
  if (answer.status != 200) return std::nullopt;
  auto json = nlohmann::json::parse(answer.body, nullptr, false);
  if (!json.is_object() || !json.contains("Id") || !json["Id"].is_string()) return std::nullopt;
  return json["Id"].get<std::string>();
}

}  // namespace gate::engine

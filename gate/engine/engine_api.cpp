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

std::string ancestor_filter(const std::vector<std::string>& images) {
  return url_encode(nlohmann::json{{"ancestor", images}}.dump());
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

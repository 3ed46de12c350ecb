#include "registry/client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/log.h"
#include "registry/digest.h"
#include "registry/reference.h"

namespace gate::registry {
namespace {

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using Headers = std::unique_ptr<curl_slist, SlistDeleter>;

struct Response {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names

  std::string header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "";
  }
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<Response*>(user)->body.append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  std::string_view line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string key(line.substr(0, colon));
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value(line.substr(colon + 1));
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.erase(0, 1);
    static_cast<Response*>(user)->headers.emplace_back(std::move(key), std::move(value));
  } else if (line.rfind("HTTP/", 0) == 0) {
    static_cast<Response*>(user)->headers.clear();  // a new response (after 100-continue or redirect)
  }
  return size * count;
}

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  const std::string* body = nullptr;
};

Response perform(const Request& request, const std::string& what) {
  CurlHandle curl(curl_easy_init());
  if (!curl) throw RegistryError(Failure::connection, what + ": cannot initialise libcurl");
  Response response;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_slist* list = nullptr;
  for (const auto& h : request.headers) list = curl_slist_append(list, h.c_str());
  Headers headers(list);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120'000L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response);
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (request.body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body->size()));
  }
  // Credentials for registries that ask for Basic auth; never printed (log::add_secret).
  const char* user = std::getenv("GATE_REGISTRY_USER");
  const char* password = std::getenv("GATE_REGISTRY_PASSWORD");
  if (user && password) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, password);
  }
  CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    std::string reason = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    Failure failure = code == CURLE_OPERATION_TIMEDOUT ? Failure::timeout : Failure::connection;
    throw RegistryError(failure, log::redact(fmt::format("{}: {}", what, reason)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

// The registry's own error text ({"errors":[{"code":..,"message":..}]}), short.
std::string registry_says(const Response& response) {
  std::string body = response.body.substr(0, 300);
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
  return body.empty() ? "" : ": " + body;
}

[[noreturn]] void fail_status(const Response& response, const std::string& what) {
  Failure failure = Failure::server;
  std::string kind = "server error";
  if (response.status == 401 || response.status == 403) {
    failure = Failure::auth;
    kind = "auth; set GATE_REGISTRY_USER and GATE_REGISTRY_PASSWORD";
  } else if (response.status == 404) {
    failure = Failure::not_found;
    kind = "not found";
  } else if (response.status < 500) {
    failure = Failure::protocol;
    kind = "rejected";
  }
  throw RegistryError(failure, fmt::format("{}: registry answered {} ({}){}", what, response.status, kind,
                                           registry_says(response)));
}

}  // namespace

Client::Client(std::string registry) : registry_(std::move(registry)) {
  static const bool initialised = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)initialised;
  if (const char* password = std::getenv("GATE_REGISTRY_PASSWORD")) log::add_secret(password);
}

std::string Client::base_url() const {
  return fmt::format("{}://{}", is_loopback_registry(registry_) ? "http" : "https", registry_);
}

void Client::check_reachable() const {
  Response response;
  try {
    response = perform({"GET", base_url() + "/v2/", {}, nullptr}, fmt::format("registry {}", registry_));
  } catch (const RegistryError& e) {
    throw RegistryError(e.failure(), fmt::format("registry not reachable: {}\n"
                                                 "  start one with scripts/bootstrap, or run: "
                                                 "docker-registry serve CONFIG.yml (http.addr: {})",
                                                 e.what(), registry_));
  }
  // 401 means "reachable, wants credentials": the request that needs them says so.
  if (response.status != 200 && response.status != 401) {
    fail_status(response, fmt::format("registry {}", registry_));
  }
}

std::optional<Manifest> Client::get_manifest(const std::string& repository, const std::string& reference) const {
  std::string what = fmt::format("get manifest {}/{}{}{}", registry_, repository,
                                 reference.rfind("sha256:", 0) == 0 ? "@" : ":", reference);
  Response response = perform(
      {"GET", fmt::format("{}/v2/{}/manifests/{}", base_url(), repository, reference),
       {std::string("Accept: ") + kManifestAccept}, nullptr},
      what);
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) fail_status(response, what);
  Manifest manifest;
  manifest.body = std::move(response.body);
  manifest.media_type = response.header("content-type");
  manifest.digest = sha256_digest(manifest.body);
  std::string served = response.header("docker-content-digest");
  if (!served.empty() && served != manifest.digest) {
    throw RegistryError(Failure::protocol, fmt::format("{}: registry says digest {} but the bytes hash to {}",
                                                       what, served, manifest.digest));
  }
  if (reference.rfind("sha256:", 0) == 0 && reference != manifest.digest) {
    throw RegistryError(Failure::protocol,
                        fmt::format("{}: the bytes served hash to {}, not the digest asked for", what, manifest.digest));
  }
  return manifest;
}

std::string Client::put_manifest(const std::string& repository, const std::string& tag, const Manifest& manifest) const {
  std::string what = fmt::format("put manifest {}/{}:{}", registry_, repository, tag);
  Response response = perform({"PUT", fmt::format("{}/v2/{}/manifests/{}", base_url(), repository, tag),
                               {"Content-Type: " + manifest.media_type}, &manifest.body},
                              what);
  if (response.status != 201 && response.status != 200) fail_status(response, what);
  return response.header("docker-content-digest");
}

}  // namespace gate::registry

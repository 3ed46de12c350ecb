#include "registry/http.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>

#include "core/interrupt.h"
#include "registry/warmup.h"

namespace gate::registry {
namespace {

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct Exchange {
  HttpResponse response;
  const HttpRequest* request = nullptr;
  size_t received = 0;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  size_t n = size * count;
  exchange->received += n;
  // Only a 2xx body is streamed out; an error body is kept for the message.
  if (exchange->request->on_body && exchange->response.status / 100 == 2) {
    exchange->request->on_body(data, n);
  } else if (exchange->response.body.size() < 64 * 1024 * 1024) {
    exchange->response.body.append(data, n);
  }
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    exchange->response.headers.clear();  // a new response (after 100-continue)
    auto space = line.find(' ');
    if (space != std::string_view::npos)
      exchange->response.status = std::atol(std::string(line.substr(space + 1, 3)).c_str());
    return size * count;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string key(line.substr(0, colon));
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value(line.substr(colon + 1));
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.erase(0, 1);
    exchange->response.headers.emplace_back(std::move(key), std::move(value));
  }
  return size * count;
}

size_t read_file(char* buffer, size_t size, size_t count, void* user) {
  return std::fread(buffer, size, count, static_cast<std::FILE*>(user));
}

TransportFailure classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return TransportFailure::connect;
    case CURLE_OPERATION_TIMEDOUT: return TransportFailure::timeout;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING: return TransportFailure::reset;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM: return TransportFailure::tls;
    default: return TransportFailure::other;
  }
}

}  // namespace

struct Http::Impl {
  std::unique_ptr<CURL, CurlDeleter> curl;  // reused: keeps the connection alive
  mutable std::mutex mutex;
  HttpStats stats;
  std::string_view ca_pem;
};

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

size_t HttpStats::total_requests() const {
  size_t total = 0;
  for (const auto& [method, count] : requests) total += count;
  return total;
}

std::string HttpStats::describe() const {
  std::string methods;
  for (const auto& [method, count] : requests)
    methods += fmt::format("{}{} {}", methods.empty() ? "" : ", ", method, count);
  return fmt::format("{} requests ({}), {:.1f} KB sent, {:.1f} KB received", total_requests(), methods,
                     static_cast<double>(bytes_sent) / 1024.0, static_cast<double>(bytes_received) / 1024.0);
}

Http::Http(std::string_view ca_pem) : impl_(std::make_unique<Impl>()) {
  impl_->ca_pem = ca_pem;
  wait_for_curl();
  impl_->curl.reset(curl_easy_init());
}

Http::~Http() = default;

HttpStats Http::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

HttpResponse Http::send(const HttpRequest& request, std::chrono::steady_clock::time_point deadline,
                        TransportError* error) {
  std::lock_guard lock(impl_->mutex);
  CURL* c = impl_->curl.get();
  curl_easy_reset(c);
  Exchange exchange;
  exchange.request = &request;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_slist* list = nullptr;
  for (const auto& h : request.headers) list = curl_slist_append(list, h.c_str());
  // Expect: 100-continue costs a round trip for every upload; registries do not need it.
  list = curl_slist_append(list, "Expect:");
  std::unique_ptr<curl_slist, SlistDeleter> headers(list);

  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) {
    *error = {TransportFailure::timeout, "deadline passed before the request was sent"};
    return {};
  }
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(left.count(), 10'000)));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &exchange);
  if (request.interruptible) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(
        c, CURLOPT_XFERINFOFUNCTION,
        +[](void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int { return interrupt::requested() ? 1 : 0; });
  }
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!impl_->ca_pem.empty()) {
    curl_blob cas{const_cast<char*>(impl_->ca_pem.data()), impl_->ca_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &cas);
  }
  // Blob GETs redirect to storage; manifests and uploads do not.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.method == "GET" ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" && request.body_file) {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_file);
    curl_easy_setopt(c, CURLOPT_READDATA, request.body_file);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body_file_size));
  } else if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  CURLcode code = curl_easy_perform(c);
  impl_->stats.requests[request.method]++;
  impl_->stats.bytes_sent += request.body_file ? static_cast<size_t>(request.body_file_size) : request.body.size();
  impl_->stats.bytes_received += exchange.received;
  if (code != CURLE_OK) {
    *error = {classify(code), error_buffer[0] ? error_buffer : curl_easy_strerror(code)};
    return {};
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  exchange.response.status = status;
  return std::move(exchange.response);
}

}  // namespace gate::registry

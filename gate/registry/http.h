#pragma once
// One HTTP exchange with a registry, over libcurl (only http.cpp includes
// it). Retries, auth and meaning live in Client; this layer sends one
// request and says precisely how it failed.
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gate::registry {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  std::string_view body;           // small bodies (manifests)
  std::FILE* body_file = nullptr;  // or a large body streamed from a file (blob uploads)
  long long body_file_size = 0;
  // When set, the response body is streamed here instead of kept.
  std::function<void(const char*, size_t)> on_body;
  // Called before every attempt (a retried download starts its file again).
  std::function<void()> before_attempt;
  // Ctrl-C aborts the transfer in flight (within about a second: libcurl's
  // progress callback), rather than after the deadline.
  bool interruptible = false;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case

  std::string header(std::string_view name) const;
};

// How an exchange failed before a complete HTTP answer arrived.
enum class TransportFailure { connect, timeout, reset, tls, other };

struct TransportError {
  TransportFailure failure;
  std::string message;
};

// Counts of what went over the wire, for reports and benchmarks.
struct HttpStats {
  std::map<std::string, size_t> requests;  // by method
  size_t bytes_sent = 0;
  size_t bytes_received = 0;
  size_t total_requests() const;
  std::string describe() const;  // "7 requests (GET 1, HEAD 3, PUT 3), 3.1 KB sent, 2.0 KB received"
};

class Http {
 public:
  // TLS is always verified, against the system's CAs, or against `ca_pem`
  // (PEM text that must outlive this object) when it is not empty.
  explicit Http(std::string_view ca_pem = {});
  ~Http();
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // Sends one request, giving up at `deadline`. Returns the answer, or the
  // TransportError through `error` (and an empty response).
  HttpResponse send(const HttpRequest& request, std::chrono::steady_clock::time_point deadline, TransportError* error);

  HttpStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gate::registry

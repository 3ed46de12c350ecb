#include "registry/client.h"

#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "core/encoding.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "registry/digest.h"
#include "registry/reference.h"

namespace gate::registry {
namespace {

using Clock = std::chrono::steady_clock;

bool retryable_status(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

// Retry-After in seconds (the HTTP-date form is rare for registries: ignored).
std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& response) {
  std::string value = response.header("retry-after");
  if (value.empty() || !std::all_of(value.begin(), value.end(), ::isdigit)) return std::nullopt;
  return std::chrono::seconds(std::atol(value.c_str()));
}

// The registry's own error text ({"errors":[{"code":..,"message":..}]}), short.
std::string registry_says(const HttpResponse& response) {
  std::string body = response.body.substr(0, 300);
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
  return body.empty() ? "" : ": " + body;
}

// Whether an error answer lists `code` among its errors (the distribution
// spec's {"errors": [{"code": ...}]}).
bool says_error_code(const HttpResponse& response, std::string_view code) {
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("errors") || !body["errors"].is_array()) return false;
  return std::any_of(body["errors"].begin(), body["errors"].end(), [&](const nlohmann::json& e) {
    return e.is_object() && e.contains("code") && e["code"].is_string() && e["code"].get<std::string>() == code;
  });
}

}  // namespace

// Connections (curl handles) kept alive between requests; one per request
// in flight.
struct Client::Pool {
  std::string_view ca_pem;
  std::mutex mutex;
  std::vector<std::unique_ptr<Http>> all;
  std::vector<Http*> idle;

  Http* acquire() {
    std::lock_guard lock(mutex);
    if (idle.empty()) {
      all.push_back(std::make_unique<Http>(ca_pem));
      return all.back().get();
    }
    Http* http = idle.back();
    idle.pop_back();
    return http;
  }
  void release(Http* http) {
    std::lock_guard lock(mutex);
    idle.push_back(http);
  }
};

struct Client::Auth {
  std::mutex mutex;  // guards everything below
  bool credentials_loaded = false;
  Credentials credentials;
  std::string scheme;                   // learnt from the first challenge: "basic" or "bearer"
  std::map<std::string, Token> tokens;  // by scope

  const Credentials& creds(const std::string& registry) {
    if (!credentials_loaded) {
      credentials = find_credentials(registry);
      credentials_loaded = true;
    }
    return credentials;
  }
};

std::string pull_scope(const std::string& repository) { return fmt::format("repository:{}:pull", repository); }
std::string push_scope(const std::string& repository) { return fmt::format("repository:{}:pull,push", repository); }
std::string delete_scope(const std::string& repository) {
  return fmt::format("repository:{}:pull,push,delete", repository);
}

Client::Client(std::string registry, ClientOptions options)
    : registry_(std::move(registry)),
      options_(options),
      pool_(std::make_unique<Pool>()),
      auth_(std::make_unique<Auth>()) {
  host_ = registry_ == "docker.io" ? "registry-1.docker.io" : registry_;
  scheme_ = (options_.insecure || is_loopback_registry(registry_)) ? "http" : "https";
  pool_->ca_pem = options_.ca_pem;
}

Client::~Client() = default;

void Client::set_interruptible(bool interruptible) { interruptible_ = interruptible; }

HttpStats Client::stats() const {
  std::lock_guard lock(pool_->mutex);
  HttpStats total;
  for (const auto& http : pool_->all) {
    HttpStats one = http->stats();
    for (const auto& [method, count] : one.requests) total.requests[method] += count;
    total.bytes_sent += one.bytes_sent;
    total.bytes_received += one.bytes_received;
  }
  return total;
}

HttpResponse Client::send(const HttpRequest& request, std::chrono::steady_clock::time_point deadline,
                          TransportError* error) {
  Http* http = pool_->acquire();
  struct Release {
    Pool* pool;
    Http* http;
    ~Release() { pool->release(http); }
  } release{pool_.get(), http};
  return http->send(request, deadline, error);
}

std::string Client::url(const std::string& path) const { return fmt::format("{}://{}{}", scheme_, host_, path); }

void Client::fail_status(const HttpResponse& response, const std::string& what) const {
  Failure failure = Failure::server;
  std::string kind = "server error";
  if (response.status == 401 || response.status == 403) {
    failure = Failure::auth;
    std::lock_guard lock(auth_->mutex);
    if (auth_->credentials_loaded && !auth_->credentials.empty()) {
      kind = fmt::format("auth: the credentials from {} were refused", auth_->credentials.source);
    } else {
      kind = "auth: no credentials set (GATE_REGISTRY_USER/GATE_REGISTRY_PASSWORD or docker login)";
    }
  } else if (response.status == 404) {
    failure = Failure::not_found;
    kind = "not found";
  } else if (response.status == 429) {
    failure = Failure::server;
    kind = "too many requests";
  } else if (response.status < 500) {
    failure = Failure::protocol;
    kind = "rejected";
  }
  throw RegistryError(failure, log::redact(fmt::format("{}: registry answered {} ({}){}", what, response.status, kind,
                                                       registry_says(response))));
}

void Client::authenticate(const HttpResponse& response, const std::string& scope, const std::string& what) {
  auto challenge = parse_challenge(response.header("www-authenticate"));
  if (!challenge) fail_status(response, what);
  std::lock_guard lock(auth_->mutex);  // one token request at a time; the others then reuse it
  if (auto it = auth_->tokens.find(scope); it != auth_->tokens.end() && it->second.expires > Clock::now() &&
                                           challenge->scheme == "bearer" && auth_->scheme == "bearer") {
    return;  // another request fetched it meanwhile
  }
  auth_->scheme = challenge->scheme;
  const Credentials& creds = auth_->creds(registry_);
  if (challenge->scheme == "basic") {
    if (creds.empty()) {
      throw RegistryError(Failure::auth, fmt::format("{}: the registry asks for credentials and none are set "
                                                     "(GATE_REGISTRY_USER/GATE_REGISTRY_PASSWORD or docker login)",
                                                     what));
    }
    return;
  }
  std::string realm = challenge->param("realm");
  if (realm.empty()) throw RegistryError(Failure::auth, fmt::format("{}: bearer challenge without a realm", what));
  std::string token_url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  token_url += "service=" + core::percent_encode(challenge->param("service"));
  auto scopes = challenge->scopes();
  if (scopes.empty()) scopes.push_back(scope);
  for (const auto& s : scopes) token_url += "&scope=" + core::percent_encode(s);
  HttpRequest request;
  request.url = token_url;
  if (!creds.empty()) {
    std::string basic = base64_encode(creds.username + ":" + creds.password);
    log::add_secret(basic);
    request.headers.push_back("Authorization: Basic " + basic);
  }
  TransportError error{};
  HttpResponse answer =
      send(request, Clock::now() + std::min(options_.deadline, std::chrono::milliseconds(30'000)), &error);
  if (answer.status == 0) {
    throw RegistryError(Failure::auth,
                        fmt::format("{}: token endpoint {} not reachable: {}", what, realm, error.message));
  }
  if (answer.status != 200) {
    std::string why = creds.empty() ? " (no credentials set: GATE_REGISTRY_USER/GATE_REGISTRY_PASSWORD or docker login)"
                                    : fmt::format(" (the credentials from {} were refused)", creds.source);
    throw RegistryError(Failure::auth,
                        log::redact(fmt::format("{}: token endpoint {} answered {}{}{}", what, realm, answer.status,
                                                answer.status == 401 ? why : "", registry_says(answer))));
  }
  auth_->tokens[scope] = parse_token_response(answer.body, Clock::now());
}

std::optional<std::string> Client::authorization(const std::string& scope) {
  std::lock_guard auth_lock(auth_->mutex);
  if (auth_->scheme == "basic") {
    const auto& creds = auth_->creds(registry_);
    if (creds.empty()) return std::nullopt;
    std::string basic = base64_encode(creds.username + ":" + creds.password);
    log::add_secret(basic);
    return "Authorization: Basic " + basic;
  }
  if (auto it = auth_->tokens.find(scope); it != auth_->tokens.end() && it->second.expires > Clock::now()) {
    return "Authorization: Bearer " + it->second.value;
  }
  return std::nullopt;
}

std::string Client::tls_hint(const std::string& message) const {
  if (message.find("wrong version number") != std::string::npos) {
    return fmt::format("\n  the registry may speak plain HTTP; if that is intended, name it: --insecure-registry {}",
                       registry_);
  }
  return fmt::format(
      "\n  TLS is verified against the system's CAs and Docker's certs.d: a private CA goes in "
      "/etc/docker/certs.d/{}/ca.crt (or --registry-certs-dir DIR)",
      registry_);
}

HttpResponse Client::execute(HttpRequest request, const std::string& scope, const std::string& what) {
  const auto deadline = Clock::now() + options_.deadline;
  const std::vector<std::string> base_headers = request.headers;
  std::mt19937 jitter(std::random_device{}());
  int attempt = 0;
  bool authenticated_once = false;
  std::string last_problem;
  while (true) {
    ++attempt;
    request.headers = base_headers;
    if (auto header = authorization(scope)) request.headers.push_back(*header);
    if (request.body_file) std::rewind(request.body_file);
    if (request.before_attempt) request.before_attempt();

    TransportError error{};
    request.interruptible = interruptible_;
    HttpResponse response = send(request, deadline, &error);
    if (interruptible_) interrupt::throw_if_requested();  // the transfer was aborted for it
    std::optional<std::chrono::milliseconds> wait;
    if (response.status == 0) {
      if (error.failure == TransportFailure::tls) {
        // Not retried: a certificate does not get better in a second.
        throw RegistryError(Failure::connection,
                            fmt::format("{}: TLS failed: {}{}", what, error.message, tls_hint(error.message)));
      }
      last_problem = error.message;
      if (error.failure == TransportFailure::timeout && Clock::now() >= deadline) {
        throw RegistryError(Failure::timeout,
                            fmt::format("{}: no answer within the {} deadline ({})", what,
                                        fmt::format("{}ms", options_.deadline.count()), error.message));
      }
    } else if (response.status == 401 && !authenticated_once) {
      authenticated_once = true;
      authenticate(response, scope, what);
      --attempt;  // answering a challenge is not a retry
      continue;
    } else if (retryable_status(response.status)) {
      last_problem = fmt::format("registry answered {}", response.status);
      if (response.status == 429) wait = retry_after(response);
      if (attempt >= options_.max_attempts) fail_status(response, fmt::format("{} (after {} attempts)", what, attempt));
    } else {
      return response;
    }
    if (attempt >= options_.max_attempts) {
      std::string hint = response.status == 0 && error.failure == TransportFailure::connect
                             ? fmt::format("; is the registry at {} running?", registry_)
                             : "";
      throw RegistryError(Failure::connection,
                          fmt::format("{}: {} (after {} attempts){}", what, last_problem, attempt, hint));
    }
    // Exponential backoff with full jitter, unless the registry said how long.
    if (!wait) {
      auto ceiling = std::min(options_.max_backoff, options_.first_backoff * (1 << std::min(attempt - 1, 10)));
      wait = std::chrono::milliseconds(
          std::uniform_int_distribution<long long>(ceiling.count() / 2, ceiling.count())(jitter));
    }
    if (Clock::now() + *wait >= deadline) {
      throw RegistryError(Failure::timeout, fmt::format("{}: {}; the next try would pass the {}ms deadline", what,
                                                        last_problem, options_.deadline.count()));
    }
    log::warn(fmt::format("{}: {}; retrying in {}ms (attempt {} of {})", what, last_problem, wait->count(), attempt + 1,
                          options_.max_attempts));
    if (interruptible_) {
      pollfd fd{interrupt::wait_fd(), POLLIN, 0};
      ::poll(&fd, 1, static_cast<int>(wait->count()));
      interrupt::throw_if_requested();
    } else {
      std::this_thread::sleep_for(*wait);
    }
  }
}

void Client::check_reachable() {
  HttpRequest request;
  request.url = url("/v2/");
  TransportError error{};
  // One quick try: this is a preflight, its message must come fast.
  HttpResponse response = send(request, Clock::now() + std::chrono::seconds(10), &error);
  if (response.status == 0) {
    throw RegistryError(Failure::connection, fmt::format("registry not reachable: {} ({}://{}/v2/)\n"
                                                         "  start one with scripts/bootstrap, or run: "
                                                         "docker-registry serve CONFIG.yml (http.addr: {})",
                                                         error.message, scheme_, host_, registry_));
  }
  // 401 means "reachable, wants credentials": the request that needs them says so.
  if (response.status != 200 && response.status != 401) fail_status(response, fmt::format("registry {}", registry_));
}

std::optional<Manifest> Client::get_manifest(const std::string& repository, const std::string& reference) {
  std::string what = fmt::format("get manifest {}/{}{}{}", registry_, repository,
                                 reference.rfind("sha256:", 0) == 0 ? "@" : ":", reference);
  HttpRequest request;
  request.url = url(fmt::format("/v2/{}/manifests/{}", repository, reference));
  request.headers = {std::string("Accept: ") + kManifestAccept};
  HttpResponse response = execute(request, pull_scope(repository), what);
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) fail_status(response, what);
  Manifest manifest;
  manifest.body = std::move(response.body);
  manifest.media_type = response.header("content-type");
  manifest.digest = sha256_digest(manifest.body);
  std::string served = response.header("docker-content-digest");
  if (!served.empty() && served != manifest.digest) {
    throw RegistryError(Failure::protocol, fmt::format("{}: registry says digest {} but the bytes hash to {}", what,
                                                       served, manifest.digest));
  }
  if (reference.rfind("sha256:", 0) == 0 && reference != manifest.digest) {
    throw RegistryError(Failure::protocol, fmt::format("{}: the bytes served hash to {}, not the digest asked for",
                                                       what, manifest.digest));
  }
  return manifest;
}

std::optional<std::string> Client::head_manifest(const std::string& repository, const std::string& reference) {
  std::string what = fmt::format("head manifest {}/{}:{}", registry_, repository, reference);
  HttpRequest request;
  request.method = "HEAD";
  request.url = url(fmt::format("/v2/{}/manifests/{}", repository, reference));
  request.headers = {std::string("Accept: ") + kManifestAccept};
  HttpResponse response = execute(request, pull_scope(repository), what);
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) fail_status(response, what);
  std::string digest = response.header("docker-content-digest");
  if (!is_valid_digest(digest)) {
    // Without the header the only way to know is to hash the bytes.
    auto manifest = get_manifest(repository, reference);
    if (!manifest) return std::nullopt;
    return manifest->digest;
  }
  return digest;
}

std::string Client::put_manifest(const std::string& repository, const std::string& reference,
                                 const Manifest& manifest) {
  return put_manifest_with(repository, reference, manifest, {});
}

std::string Client::put_manifest_if(const std::string& repository, const std::string& tag, const Manifest& manifest,
                                    const std::string& expected) {
  // The registry's ETag of a manifest is its digest, quoted.
  return put_manifest_with(repository, tag, manifest,
                           {expected.empty() ? "If-None-Match: *" : "If-Match: \"" + expected + "\""});
}

std::string Client::put_manifest_with(const std::string& repository, const std::string& reference,
                                      const Manifest& manifest, const std::vector<std::string>& conditions) {
  std::string what = fmt::format("put manifest {}/{}{}{}", registry_, repository,
                                 reference.rfind("sha256:", 0) == 0 ? "@" : ":", reference);
  HttpRequest request;
  request.method = "PUT";
  request.url = url(fmt::format("/v2/{}/manifests/{}", repository, reference));
  request.headers = {"Content-Type: " + manifest.media_type};
  request.headers.insert(request.headers.end(), conditions.begin(), conditions.end());
  request.body = manifest.body;
  HttpResponse response = execute(request, push_scope(repository), what);
  if (response.status == 412) {
    throw PreconditionFailed(fmt::format("{}: the registry refused the conditional write ({}): the tag moved", what,
                                         conditions.empty() ? "" : conditions.front()));
  }
  if (response.status != 201 && response.status != 200) {
    if (says_error_code(response, "MANIFEST_BLOB_UNKNOWN")) {
      throw BlobUnknown(fmt::format("{}: the registry has no blob it names{}", what, registry_says(response)));
    }
    fail_status(response, what);
  }
  return response.header("docker-content-digest");
}

namespace {

// The next page of a tag listing: Link: </v2/NAME/tags/list?last=X&n=N>; rel="next".
std::string next_page(const std::string& link) {
  if (link.find("rel=\"next\"") == std::string::npos) return "";
  auto open = link.find('<');
  auto close = link.find('>', open);
  if (open == std::string::npos || close == std::string::npos) return "";
  return link.substr(open + 1, close - open - 1);
}

}  // namespace

std::vector<std::string> Client::list_tags(const std::string& repository) {
  std::string what = fmt::format("list tags of {}/{}", registry_, repository);
  std::vector<std::string> tags;
  std::string path = fmt::format("/v2/{}/tags/list?n=1000", repository);
  for (int page = 0; !path.empty(); ++page) {
    if (page > 100000) throw RegistryError(Failure::protocol, what + ": the pages never end");
    HttpRequest request;
    request.url = path.rfind("http", 0) == 0 ? path : url(path);
    HttpResponse response = execute(request, pull_scope(repository), what);
    if (response.status == 404) return tags;  // no such repository yet
    if (response.status != 200) fail_status(response, what);
    auto listing = nlohmann::json::parse(response.body, nullptr, false);
    if (listing.is_discarded() || !listing.is_object())
      throw RegistryError(Failure::protocol, what + ": the answer is not a JSON object");
    const auto& names = listing["tags"];
    if (names.is_array()) {
      for (const auto& name : names) {
        if (name.is_string()) tags.push_back(name.get<std::string>());
      }
    }
    path = next_page(response.header("link"));
  }
  return tags;
}

bool Client::delete_manifest(const std::string& repository, const std::string& digest) {
  std::string what = fmt::format("delete manifest {}/{}@{}", registry_, repository, digest);
  HttpRequest request;
  request.method = "DELETE";
  request.url = url(fmt::format("/v2/{}/manifests/{}", repository, digest));
  HttpResponse response = execute(request, delete_scope(repository), what);
  if (response.status == 202 || response.status == 200 || response.status == 404) return true;
  if (response.status == 405) return false;  // the registry does not allow deletes
  fail_status(response, what);
}

}  // namespace gate::registry

// The blob half of registry::Client: whether a blob is there, mounting or
// copying it between repositories, small blobs read and written, and the one
// upload finish both writes end with. (The requests, authentication and
// retries are client.cpp's.)
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "core/encoding.h"
#include "core/error.h"
#include "core/log.h"
#include "registry/client.h"
#include "registry/digest.h"

namespace gate::registry {

bool Client::has_blob(const std::string& repository, const std::string& digest) {
  std::string what = fmt::format("head blob {}/{}@{}", registry_, repository, digest);
  HttpRequest request;
  request.method = "HEAD";
  request.url = url(fmt::format("/v2/{}/blobs/{}", repository, digest));
  HttpResponse response = execute(request, pull_scope(repository), what);
  if (response.status == 200) return true;
  if (response.status == 404) return false;
  fail_status(response, what);
}

Client::BlobCopy Client::mount_blob(const std::string& repository, const std::string& from, const std::string& digest) {
  if (has_blob(repository, digest)) return BlobCopy::present;
  std::string what = fmt::format("mount blob {} from {} into {}/{}", digest, from, registry_, repository);
  std::string scope = push_scope(repository) + " " + pull_scope(from);
  HttpRequest mount;
  mount.method = "POST";
  mount.url = url(fmt::format("/v2/{}/blobs/uploads/?mount={}&from={}", repository, core::percent_encode(digest),
                              core::percent_encode(from)));
  HttpResponse response = execute(mount, scope, what);
  if (response.status == 201) return BlobCopy::mounted;
  if (response.status != 202) fail_status(response, what);

  // The registry refused the mount and opened an upload session instead:
  // copy the blob through a temporary file (memory stays small whatever its size).
  std::string location = response.header("location");
  if (location.empty()) throw RegistryError(Failure::protocol, what + ": upload session without a Location");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::tmpfile(), std::fclose);
  if (!file) throw InfraError(what + ": cannot create a temporary file");
  HttpRequest download;
  download.url = url(fmt::format("/v2/{}/blobs/{}", from, digest));
  long long size = 0;
  download.on_body = [&](const char* data, size_t n) {
    std::fwrite(data, 1, n, file.get());
    size += static_cast<long long>(n);
  };
  download.before_attempt = [&] {
    std::rewind(file.get());
    if (::ftruncate(::fileno(file.get()), 0) != 0) throw InfraError(what + ": cannot truncate the temporary file");
    size = 0;
  };
  HttpResponse got = execute(download, scope, what + " (download)");
  if (got.status != 200) fail_status(got, what + " (download)");
  std::fflush(file.get());
  // Verify what was downloaded before it is uploaded under its digest.
  std::rewind(file.get());
  if (std::string hashed = sha256_file(file.get()); hashed != digest) {
    throw RegistryError(Failure::protocol, fmt::format("{}: downloaded bytes hash to {}", what, hashed));
  }
  HttpRequest upload;
  upload.body_file = file.get();
  upload.body_file_size = size;
  finish_upload(std::move(upload), location, digest, scope, what + " (upload)");
  return BlobCopy::uploaded;
}

std::optional<std::string> Client::get_blob(const std::string& repository, const std::string& digest) {
  std::string what = fmt::format("get blob {}/{}@{}", registry_, repository, digest);
  HttpRequest request;
  request.url = url(fmt::format("/v2/{}/blobs/{}", repository, digest));
  HttpResponse response = execute(request, pull_scope(repository), what);
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) fail_status(response, what);
  if (sha256_digest(response.body) != digest) {
    throw RegistryError(Failure::protocol,
                        fmt::format("{}: the bytes served hash to {}", what, sha256_digest(response.body)));
  }
  return std::move(response.body);
}

std::string Client::push_blob(const std::string& repository, const std::string& bytes) {
  std::string digest = sha256_digest(bytes);
  if (has_blob(repository, digest)) return digest;
  return upload_blob(repository, bytes);
}

std::string Client::upload_blob(const std::string& repository, const std::string& bytes) {
  std::string digest = sha256_digest(bytes);
  std::string what = fmt::format("push blob {}/{}@{}", registry_, repository, digest);
  if (auto opened = take_upload_ahead(repository)) {
    HttpRequest put;
    put.body = bytes;
    try {
      finish_upload(std::move(put), *opened, digest, push_scope(repository), what);
      return digest;
    } catch (const RegistryError& e) {
      // A session the registry no longer knows (expired, or a registry
      // restarted with another secret): the upload starts anew below.
      log::info(fmt::format("{}: the session opened ahead was refused ({}); opening another", what, e.what()));
    }
  }
  HttpRequest start;
  start.method = "POST";
  start.url = url(fmt::format("/v2/{}/blobs/uploads/", repository));
  HttpResponse session = execute(start, push_scope(repository), what);
  if (session.status != 202) fail_status(session, what);
  std::string location = session.header("location");
  if (location.empty()) throw RegistryError(Failure::protocol, what + ": upload session without a Location");
  HttpRequest put;
  put.body = bytes;
  finish_upload(std::move(put), location, digest, push_scope(repository), what);
  return digest;
}

void Client::finish_upload(HttpRequest put, const std::string& location, const std::string& digest,
                           const std::string& scope, const std::string& what) {
  // The digest closes the session.
  std::string put_url = upload_url(location);
  put_url +=
      (put_url.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + core::percent_encode(digest);
  put.method = "PUT";
  put.url = put_url;
  put.headers = {"Content-Type: application/octet-stream"};
  HttpResponse done = execute(std::move(put), scope, what);
  if (done.status != 201) fail_status(done, what);
}

// A session's Location may be absolute or relative to the registry.
std::string Client::upload_url(const std::string& location) const {
  return location.rfind("http", 0) == 0 ? location : url(location);
}

bool Client::open_upload_ahead(const std::string& repository) {
  const std::string what = fmt::format("open an upload session in {}/{}", registry_, repository);
  try {
    HttpRequest start;
    start.method = "POST";
    start.url = url(fmt::format("/v2/{}/blobs/uploads/", repository));
    HttpResponse session = execute(start, push_scope(repository), what);
    std::string location = session.header("location");
    if (session.status != 202 || location.empty()) return false;
    std::lock_guard lock(ahead_mutex_);
    ahead_.emplace(repository, std::move(location));
    return true;
  } catch (const Interrupted&) {
    throw;
  } catch (const Error&) {
    return false;  // (a token without push, a registry away: the upload itself will say)
  }
}

std::optional<std::string> Client::take_upload_ahead(const std::string& repository) {
  std::lock_guard lock(ahead_mutex_);
  auto found = ahead_.find(repository);
  if (found == ahead_.end()) return std::nullopt;
  std::string location = std::move(found->second);
  ahead_.erase(found);
  return location;
}

void Client::cancel_uploads_ahead() {
  std::multimap<std::string, std::string> unused;
  {
    std::lock_guard lock(ahead_mutex_);
    unused.swap(ahead_);
  }
  for (const auto& [repository, location] : unused) {
    HttpRequest cancel;
    cancel.method = "DELETE";
    cancel.url = upload_url(location);
    try {
      execute(std::move(cancel), push_scope(repository), fmt::format("cancel an upload session in {}", repository));
    } catch (const std::exception&) {
      // Best effort: an unused session expires in the registry anyway.
    }
  }
}

}  // namespace gate::registry

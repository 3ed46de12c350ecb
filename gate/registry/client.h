#pragma once
// The registry's HTTP API (OCI distribution): manifests and blobs, with auth,
// retries and a deadline per operation. Manifests are kept byte-exact: a
// digest is the sha256 of the exact bytes, so re-serialising one would
// publish a different image.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/error.h"
#include "registry/auth.h"
#include "registry/http.h"
#include "registry/registry.h"

namespace gate::registry {

// Every manifest media type, always sent in Accept: without the index types
// distribution 2.x silently answers a multi-arch tag with one platform's
// manifest, and without the OCI type an OCI manifest is a 404.
inline constexpr const char* kManifestAccept =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

enum class Failure { connection, timeout, auth, not_found, server, protocol };

class RegistryError : public InfraError {
 public:
  RegistryError(Failure failure, const std::string& message) : InfraError(message), failure_(failure) {}
  Failure failure() const { return failure_; }

 private:
  Failure failure_;
};

struct ClientOptions {
  // Each operation (with its retries) must finish within this.
  std::chrono::milliseconds deadline{std::chrono::minutes(2)};
  int max_attempts = 5;  // per operation: the first try and 4 retries
  std::chrono::milliseconds first_backoff{200};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(5)};
  // Plain HTTP; implied for loopback registries.
  bool insecure = false;
  // TLS: the CAs to verify against (PEM), when not only the system's (certs.h).
  std::string ca_pem;
};

// Thread-safe: publishing several tags runs their requests at once.
class Client : public Registry {
 public:
  using BlobCopy = registry::BlobCopy;
  explicit Client(std::string registry, ClientOptions options = {});
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // GET /v2/. Throws RegistryError(connection) saying how to start one.
  void check_reachable();

  // The manifest for a tag or digest; nullopt when the registry has none.
  std::optional<Manifest> get_manifest(const std::string& repository, const std::string& reference) override;
  // The digest a tag or digest resolves to (HEAD); nullopt when there is none.
  std::optional<std::string> head_manifest(const std::string& repository, const std::string& reference) override;
  // PUTs the exact bytes under `reference` (a tag or the manifest's digest);
  // returns the registry's Docker-Content-Digest.
  std::string put_manifest_if(const std::string& repository, const std::string& tag, const Manifest& manifest,
                              const std::string& expected) override;
  std::string put_manifest(const std::string& repository, const std::string& reference,
                           const Manifest& manifest) override;

  bool has_blob(const std::string& repository, const std::string& digest);
  // Makes blob `digest` of repository `from` exist in `repository` of the
  // same registry: a cross-repository mount, or, when the registry refuses
  // the mount, an upload streamed through a temporary file.
  BlobCopy mount_blob(const std::string& repository, const std::string& from, const std::string& digest) override;

  // Small blobs (records, configs): kept in memory, digest checked.
  std::optional<std::string> get_blob(const std::string& repository, const std::string& digest) override;
  // Uploads a small blob (monolithic POST + PUT) unless it is there; returns its digest.
  std::string push_blob(const std::string& repository, const std::string& bytes) override;
  // The same upload, not asking first (POST + PUT: docker-registry 2.8
  // ignores a body on the POST, so the monolithic upload is two requests).
  std::string upload_blob(const std::string& repository, const std::string& bytes) override;

  // Opens a blob upload session before its bytes exist (a run's record,
  // while its tests run): the next upload_blob to `repository` PUTs into it,
  // one round trip fewer after the verdict (two on a token registry, whose
  // push token comes with it). Any failure here is left to that upload,
  // which opens its own; false when none was opened.
  bool open_upload_ahead(const std::string& repository);
  // DELETEs the sessions opened ahead and not used (best effort: the
  // registry also expires them).
  void cancel_uploads_ahead();

  // GET /v2/NAME/tags/list, following the Link header's next pages.
  std::vector<std::string> list_tags(const std::string& repository) override;
  // DELETE /v2/NAME/manifests/DIGEST; false on 405 (deletes disabled).
  bool delete_manifest(const std::string& repository, const std::string& digest) override;

  // Failures while interrupted are not retried; set false for clean-up work
  // (a rollback) that must run even then.
  void set_interruptible(bool interruptible) override;

  const std::string& registry() const override { return registry_; }
  HttpStats stats() const;

 private:
  struct Auth;
  struct Pool;
  // One exchange on a connection of the pool (several may run at once).
  HttpResponse send(const HttpRequest& request, std::chrono::steady_clock::time_point deadline, TransportError* error);
  HttpResponse execute(HttpRequest request, const std::string& scope, const std::string& what);
  void authenticate(const HttpResponse& challenge_response, const std::string& scope, const std::string& what);
  // The Authorization header this registry and scope take now, if any.
  std::optional<std::string> authorization(const std::string& scope);
  // What to do about a TLS failure, for the error message.
  std::string tls_hint(const std::string& message) const;
  std::string url(const std::string& path) const;
  std::string upload_url(const std::string& location) const;  // an upload session's
  // Ends an upload session at `location` with one PUT of `put`'s bytes (body
  // or body_file) under `digest`; anything but 201 is an error.
  void finish_upload(HttpRequest put, const std::string& location, const std::string& digest, const std::string& scope,
                     const std::string& what);
  [[noreturn]] void fail_status(const HttpResponse& response, const std::string& what) const;
  // A session open_upload_ahead opened for `repository`, taken out of the set.
  std::optional<std::string> take_upload_ahead(const std::string& repository);
  // A manifest PUT with extra request headers (the conditions of put_manifest_if).
  std::string put_manifest_with(const std::string& repository, const std::string& reference, const Manifest& manifest,
                                const std::vector<std::string>& conditions);

  std::string registry_;
  std::string host_;    // where requests go (docker.io -> registry-1.docker.io)
  std::string scheme_;  // http or https
  ClientOptions options_;
  std::unique_ptr<Pool> pool_;
  std::unique_ptr<Auth> auth_;
  bool interruptible_ = true;
  std::mutex ahead_mutex_;                         // guards ahead_
  std::multimap<std::string, std::string> ahead_;  // repository -> upload Location
};

// "repository:NAME:pull" / "repository:NAME:pull,push": a token's scope.
std::string pull_scope(const std::string& repository);
std::string push_scope(const std::string& repository);
std::string delete_scope(const std::string& repository);

}  // namespace gate::registry

#pragma once
// What publishing and verification records need of a registry: manifests by
// tag or digest, blobs made present in a repository, small blobs read and
// written, tags listed, artifacts deleted, and whether an interrupt stops retries. registry::Client is the
// real one (the HTTP API); the unit tests of publish and of records use
// in-memory ones that can lose, delay and refuse writes.
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "registry/manifest_types.h"

namespace gate::registry {

enum class BlobCopy { present, mounted, uploaded };

// A conditional write the registry refused: the tag no longer pointed where
// the writer expected (HTTP 412).
class PreconditionFailed : public InfraError {
 public:
  using InfraError::InfraError;
};

// A manifest write the registry refused because a blob the manifest names
// is not in the repository (the distribution spec's MANIFEST_BLOB_UNKNOWN).
class BlobUnknown : public InfraError {
 public:
  using InfraError::InfraError;
};

class Registry {
 public:
  virtual ~Registry() = default;

  // The registry's host[:port], for messages.
  virtual const std::string& registry() const = 0;
  // The manifest for a tag or digest; nullopt when the registry has none.
  virtual std::optional<Manifest> get_manifest(const std::string& repository, const std::string& reference) = 0;
  // The digest a tag or digest resolves to (HEAD); nullopt when there is none.
  virtual std::optional<std::string> head_manifest(const std::string& repository, const std::string& reference) = 0;
  // PUTs the exact bytes under `reference`; returns the registry's Docker-Content-Digest.
  virtual std::string put_manifest(const std::string& repository, const std::string& reference,
                                   const Manifest& manifest) = 0;
  // The same, only while `tag` points at `expected` ("" = while it does not
  // exist): sent with If-Match / If-None-Match. A registry that honours them
  // refuses otherwise (PreconditionFailed); the OCI distribution spec does
  // not require it yet and docker-registry writes anyway, so callers still
  // check what they can. Fakes without conditions write.
  virtual std::string put_manifest_if(const std::string& repository, const std::string& tag, const Manifest& manifest,
                                      const std::string& expected) {
    (void)expected;
    return put_manifest(repository, tag, manifest);
  }
  // Makes blob `digest` of repository `from` exist in `repository`.
  virtual BlobCopy mount_blob(const std::string& repository, const std::string& from, const std::string& digest) = 0;
  // A small blob (a record, a config), digest checked; nullopt when absent.
  virtual std::optional<std::string> get_blob(const std::string& repository, const std::string& digest) = 0;
  // Uploads a small blob unless it is there; returns its digest.
  virtual std::string push_blob(const std::string& repository, const std::string& bytes) = 0;
  // Uploads a small blob without asking first whether it is there: for
  // bytes new by construction (a record, with its own time in it), where
  // the question is a request that always answers "no".
  virtual std::string upload_blob(const std::string& repository, const std::string& bytes) {
    return push_blob(repository, bytes);
  }
  // Every tag of the repository, all pages; empty when it has none.
  virtual std::vector<std::string> list_tags(const std::string& repository) = 0;
  // Deletes manifest `digest` and the tags on it; false when the registry
  // does not allow deletes (it is then kept, not an error).
  virtual bool delete_manifest(const std::string& repository, const std::string& digest) = 0;
  // Failures while interrupted are not retried; false for clean-up work.
  virtual void set_interruptible(bool interruptible) = 0;
};

}  // namespace gate::registry

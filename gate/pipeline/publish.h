#pragma once
// Publishing: moving release tags to the exact tested digest, in the registry.
//
//  - The tested manifest is read once, by digest, and its exact bytes are
//    PUT under each tag; the registry's Docker-Content-Digest must equal the
//    tested digest. Within one repository no blob moves.
//  - Into another repository of the same registry, blobs are mounted
//    (uploaded only when the registry refuses the mount) and an index's child
//    manifests are PUT before the index, so digests stay identical.
//  - Compare-and-swap: with expectations, a tag that no longer points where
//    the gate saw it is not moved (exit 1). The registry has no conditional
//    write, so the first tag is claimed, read back after a settle window, and
//    only the run whose claim stands moves the other tags.
//  - All tags or none: when a tag fails, the tags already moved are set back
//    to their previous digests, and the error says what became of each: read
//    back from the registry (a write that timed out may land late), never
//    assumed; a tag that cannot be read is reported unknown (exit 3).
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "registry/registry.h"
#include "report/model.h"

namespace gate::pipeline {

struct PublishRequest {
  std::string source_repository;  // where the tested image is (path in the registry)
  std::string target_repository;  // where the tags go; may equal source
  std::string digest;             // the tested digest
  std::vector<std::string> tags;
  // Compare-and-swap: per tag, the digest it must still point to ("" = the
  // tag must not exist yet). Tags without an entry are not checked.
  std::map<std::string, std::string> expect;
  std::chrono::milliseconds settle{500};
  // After a failure: how long gate keeps reading the tags back (and setting
  // back what landed late) before it reports a tag as unknown.
  std::chrono::milliseconds rollback_budget{std::chrono::seconds(60)};
  // ... and how long its reads must agree before a tag counts as settled.
  std::chrono::milliseconds settle_window{std::chrono::seconds(2)};
};

// A tag moved since the gate looked: someone else published. Exit 1.
class PublishConflict : public Error {
 public:
  explicit PublishConflict(const std::string& message) : Error(ExitCode::blocked, message) {}
};

std::vector<report::PublishedTag> publish(registry::Registry& registry, const PublishRequest& request);

// The digest each tag points to now ("" when unset), for later expectations.
std::map<std::string, std::string> observe_tags(registry::Registry& registry, const std::string& repository,
                                                const std::vector<std::string>& tags);

}  // namespace gate::pipeline

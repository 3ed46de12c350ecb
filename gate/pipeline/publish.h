#pragma once
// Publishing: moving release tags to the exact tested digest, in the registry.
#include <string>
#include <vector>

#include "registry/client.h"
#include "report/model.h"

namespace gate::pipeline {

// GETs the manifest once by digest and PUTs the same bytes under each tag;
// the registry's Docker-Content-Digest must equal `digest` for every tag.
// Returns what moved, with each tag's previous digest.
std::vector<report::PublishedTag> publish_tags(const registry::Client& registry, const std::string& repository,
                                               const std::string& digest, const std::vector<std::string>& tags);

}  // namespace gate::pipeline

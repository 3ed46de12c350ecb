#include "pipeline/publish.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"

namespace gate::pipeline {

std::vector<report::PublishedTag> publish_tags(const registry::Client& registry, const std::string& repository,
                                               const std::string& digest, const std::vector<std::string>& tags) {
  const std::string image = fmt::format("{}/{}", registry.registry(), repository);
  auto manifest = registry.get_manifest(repository, digest);
  if (!manifest) throw InfraError(fmt::format("publish {}@{}: the tested digest is not in the registry", image, digest));
  std::vector<report::PublishedTag> published;
  for (const auto& tag : tags) {
    report::PublishedTag entry;
    entry.tag = tag;
    if (auto previous = registry.get_manifest(repository, tag)) entry.previous_digest = previous->digest;
    std::string served = registry.put_manifest(repository, tag, *manifest);
    if (served != digest) {
      throw InfraError(fmt::format("publish {}:{}: the registry stored digest '{}', not the tested {}", image, tag,
                                   served, digest));
    }
    entry.digest = served;
    log::info(fmt::format("published {}:{} -> {} (was {})", image, tag, digest,
                          entry.previous_digest.empty() ? "not set" : entry.previous_digest));
    published.push_back(std::move(entry));
  }
  return published;
}

}  // namespace gate::pipeline

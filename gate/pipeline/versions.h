#pragma once
// The consumer versions users run (`releases: N`, `refs:`): each becomes a
// consumer of its own, "name@<tag or ref>", placed after the consumer it
// comes from, so that plan, shards, baseline, verdict, JUnit, summary,
// record and status treat it like any other. The development ref keeps the
// consumer's own name.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "git/checkout.h"

namespace gate::pipeline {

// What checking the consumer out asks of gate/git (its ref, credentials,
// time-out), for the checkout and for listing its remote's tags.
git::CheckoutRequest checkout_request_of(const config::Consumer& consumer, const std::filesystem::path& cache_dir);

// Consumer name -> the versions tested besides its ref, newest first.
using Versions = std::map<std::string, std::vector<std::string>>;

// The `count` newest of `tags` whose whole name matches `pattern`, by
// version order (numbers compared as numbers: v1.10 after v1.9), newest
// first.
std::vector<std::string> newest_releases(const std::vector<std::string>& tags, const std::string& pattern, int count);

// Asks each consumer's remote which tags it has, for the consumers with
// `releases` (one round trip each, nothing fetched), plus their `refs`.
// InfraError when a remote cannot be listed; UsageError when a tag chosen
// cannot name a consumer.
Versions resolve_versions(const config::Config& config, const std::filesystem::path& cache_dir);

// Adds every version as a consumer of its own. UsageError when `versions`
// (a plan's or a shard report's) names a consumer the config lacks.
void add_versions(config::Config& config, const Versions& versions, const std::string& source);

}  // namespace gate::pipeline

#include "pipeline/versions.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>

#include "core/error.h"
#include "core/log.h"
#include "git/checkout.h"

namespace gate::pipeline {

namespace {

// "v1.10.2" < "v1.9" is false: runs of digits compare as numbers, the rest
// as text (what `sort -V` does for release tags).
bool version_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])), db = std::isdigit(static_cast<unsigned char>(b[j]));
    if (da && db) {
      size_t ei = i, ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) ++ei;
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) ++ej;
      std::string na = a.substr(i, ei - i), nb = b.substr(j, ej - j);
      na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
      nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ei;
      j = ej;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

bool usable_in_a_name(const std::string& ref) {
  return !ref.empty() && ref.size() <= 64 && std::all_of(ref.begin(), ref.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' || ch == '+';
  });
}

}  // namespace

git::CheckoutRequest checkout_request_of(const config::Consumer& consumer, const std::filesystem::path& cache_dir) {
  git::CheckoutRequest request;
  request.name = consumer.name;
  request.url = consumer.repo;
  request.ref = consumer.ref;
  request.cache_dir = cache_dir;
  request.token_env = consumer.token_env;
  request.token_user = consumer.token_user;
  request.submodules = consumer.submodules;
  request.timeout = consumer.checkout_timeout;
  return request;
}

std::vector<std::string> newest_releases(const std::vector<std::string>& tags, const std::string& pattern, int count) {
  const std::regex release(pattern, std::regex::ECMAScript);
  std::vector<std::string> matching;
  for (const auto& tag : tags)
    if (std::regex_match(tag, release)) matching.push_back(tag);
  // "v2.0" and "2.1" are versions 2.0 and 2.1; ties keep a text order.
  auto number = [](const std::string& tag) { return tag.substr(!tag.empty() && (tag[0] == 'v' || tag[0] == 'V')); };
  std::sort(matching.begin(), matching.end(), [&](const std::string& a, const std::string& b) {
    const std::string na = number(a), nb = number(b);
    if (version_less(nb, na) || version_less(na, nb)) return version_less(nb, na);  // newest first
    return a < b;
  });
  matching.erase(std::unique(matching.begin(), matching.end()), matching.end());
  if (matching.size() > static_cast<size_t>(count)) matching.resize(static_cast<size_t>(count));
  return matching;
}

Versions resolve_versions(const config::Config& config, const std::filesystem::path& cache_dir) {
  Versions versions;
  for (const auto& c : config.consumers) {
    if (c.releases == 0 && c.refs.empty()) continue;
    std::vector<std::string>& list = versions[c.name];
    if (c.releases > 0) {
      auto tags = git::remote_tags(checkout_request_of(c, cache_dir));
      list = newest_releases(tags, c.release_pattern, c.releases);
      for (const auto& tag : list) {
        if (!usable_in_a_name(tag)) {
          throw UsageError(
              fmt::format("consumer '{}': release tag '{}' cannot name a consumer (letters, digits, '.', "
                          "'_', '-', '+'): narrow release_pattern",
                          c.name, tag));
        }
      }
      if (static_cast<int>(list.size()) < c.releases) {
        log::warn(fmt::format("consumer '{}': releases: {} but the remote has {} tag(s) matching '{}'", c.name,
                              c.releases, list.size(), c.release_pattern));
      }
      log::info(fmt::format("{}: releases tested besides {}: {}", c.name, c.ref.empty() ? "the default branch" : c.ref,
                            list.empty() ? "none" : fmt::format("{}", fmt::join(list, ", "))));
    }
    for (const auto& ref : c.refs)
      if (std::find(list.begin(), list.end(), ref) == list.end()) list.push_back(ref);
  }
  return versions;
}

void add_versions(config::Config& config, const Versions& versions, const std::string& source) {
  for (const auto& [name, refs] : versions) {
    auto base = std::find_if(config.consumers.begin(), config.consumers.end(),
                             [&name = name](const config::Consumer& c) { return c.name == name; });
    if (base == config.consumers.end()) {
      throw UsageError(fmt::format("{} names versions of consumer '{}', which {} does not have", source, name,
                                   config.file.string()));
    }
    std::vector<config::Consumer> instances;
    for (const auto& ref : refs) {
      if (!usable_in_a_name(ref)) throw UsageError(fmt::format("{}: version '{}' of '{}'", source, ref, name));
      config::Consumer instance = *base;
      instance.name = name + "@" + ref;
      // A release is its tag, never a branch of the same name.
      const bool is_tag = std::find(base->refs.begin(), base->refs.end(), ref) == base->refs.end();
      instance.ref = is_tag ? "refs/tags/" + ref : ref;
      instance.version_of = name;
      instance.releases = 0;
      instance.refs.clear();
      instances.push_back(std::move(instance));
    }
    config.consumers.insert(base + 1, instances.begin(), instances.end());
  }
}

}  // namespace gate::pipeline

#include "registry/reference.h"

#include <fmt/format.h>

#include <regex>

#include "core/error.h"

namespace gate::registry {
namespace {

const std::regex& domain_regex() {
  static const std::regex re(
      R"(^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$)");
  return re;
}

const std::regex& path_component_regex() {
  static const std::regex re(R"(^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$)");
  return re;
}

struct Parsed {
  Reference ref;
  std::string problem;
};

Parsed parse(std::string_view text) {
  Parsed out;
  if (text.empty()) {
    out.problem = "the reference is empty";
    return out;
  }
  std::string rest(text);
  if (auto at = rest.find('@'); at != std::string::npos) {
    out.ref.digest = rest.substr(at + 1);
    rest.resize(at);
    if (!is_valid_digest(out.ref.digest)) {
      out.problem = fmt::format("'{}' is not a digest (expected sha256: and 64 hex digits)", out.ref.digest);
      return out;
    }
  }
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    out.ref.tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (!is_valid_tag(out.ref.tag)) {
      out.problem = fmt::format("'{}' is not a valid tag (letters, digits, '_', '.', '-', at most 128)",
                                out.ref.tag);
      return out;
    }
  }
  std::string path = rest;
  auto first_slash = rest.find('/');
  if (first_slash != std::string::npos) {
    std::string first = rest.substr(0, first_slash);
    if (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
        first == "localhost" || first.front() == '[') {
      if (!std::regex_match(first, domain_regex())) {
        out.problem = fmt::format("'{}' is not a valid registry host", first);
        return out;
      }
      out.ref.registry = first;
      path = rest.substr(first_slash + 1);
    }
  }
  if (out.ref.registry.empty()) {
    out.ref.registry = "docker.io";
    if (path.find('/') == std::string::npos) path = "library/" + path;
  }
  if (path.empty()) {
    out.problem = "the repository path is empty";
    return out;
  }
  size_t start = 0;
  while (true) {
    auto slash = path.find('/', start);
    std::string component = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!std::regex_match(component, path_component_regex())) {
      out.problem = fmt::format(
          "'{}' is not a valid repository path component (lowercase letters, digits, "
          "separated by '.', '_', '__' or '-')",
          component);
      return out;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (path.size() > 255) {
    out.problem = "the repository name is longer than 255 characters";
    return out;
  }
  out.ref.repository = path;
  return out;
}

}  // namespace

std::string Reference::name() const { return registry + "/" + repository; }

std::string Reference::str() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Reference parse_reference(std::string_view text) {
  Parsed parsed = parse(text);
  if (!parsed.problem.empty()) {
    throw UsageError(fmt::format("invalid image reference '{}': {}", text, parsed.problem));
  }
  return parsed.ref;
}

std::optional<std::string> reference_problem(std::string_view text) {
  Parsed parsed = parse(text);
  if (parsed.problem.empty()) return std::nullopt;
  return parsed.problem;
}

bool is_valid_tag(std::string_view tag) {
  static const std::regex re(R"(^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$)");
  return std::regex_match(tag.begin(), tag.end(), re);
}

bool is_valid_digest(std::string_view digest) {
  static const std::regex re(R"(^sha256:[a-f0-9]{64}$)");
  return std::regex_match(digest.begin(), digest.end(), re);
}

bool is_loopback_registry(std::string_view registry) {
  std::string host(registry);
  if (!host.empty() && host.front() == '[') {
    return host.rfind("[::1]", 0) == 0;
  }
  if (auto colon = host.find(':'); colon != std::string::npos) host.resize(colon);
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

}  // namespace gate::registry

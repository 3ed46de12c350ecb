#include "registry/reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace gate::registry {
namespace {

// Hand-written matchers for the distribution grammar (std::regex costs
// milliseconds to compile, on every start of a short command).
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// domain-component ("." domain-component)* [":" port], or "[ipv6]" [":" port]
bool is_domain(std::string_view text) {
  auto colon = text.rfind(':');
  std::string_view host = text;
  if (colon != std::string_view::npos && text.find(']', colon) == std::string_view::npos) {
    std::string_view port = text.substr(colon + 1);
    if (port.empty() || !std::all_of(port.begin(), port.end(), ::isdigit)) return false;
    host = text.substr(0, colon);
  }
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    return std::all_of(host.begin() + 1, host.end() - 1,
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':'; });
  }
  if (host.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view part = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || !is_alnum(part.front()) || !is_alnum(part.back())) return false;
    if (!std::all_of(part.begin(), part.end(), [](char c) { return is_alnum(c) || c == '-'; })) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool is_path_component(std::string_view text) {
  if (text.empty() || !is_lower_alnum(text.front()) || !is_lower_alnum(text.back())) return false;
  for (size_t i = 0; i < text.size();) {
    if (is_lower_alnum(text[i])) {
      ++i;
      continue;
    }
    size_t run = i;
    while (run < text.size() && !is_lower_alnum(text[run])) ++run;
    std::string_view separator = text.substr(i, run - i);
    bool dashes = std::all_of(separator.begin(), separator.end(), [](char c) { return c == '-'; });
    if (!(separator == "." || separator == "_" || separator == "__" || dashes)) return false;
    i = run;
  }
  return true;
}

}  // namespace

namespace {

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
      out.problem = fmt::format("'{}' is not a valid tag (letters, digits, '_', '.', '-', at most 128)", out.ref.tag);
      return out;
    }
  }
  std::string path = rest;
  auto first_slash = rest.find('/');
  if (first_slash != std::string::npos) {
    std::string first = rest.substr(0, first_slash);
    if (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost" ||
        first.front() == '[') {
      if (!is_domain(first)) {
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
    if (!is_path_component(component)) {
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
  if (tag.empty() || tag.size() > 128 || !(is_alnum(tag.front()) || tag.front() == '_')) return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

bool is_valid_digest(std::string_view digest) {
  if (digest.size() != 71 || digest.substr(0, 7) != "sha256:") return false;
  return std::all_of(digest.begin() + 7, digest.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
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

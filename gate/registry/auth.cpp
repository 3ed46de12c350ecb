#include "registry/auth.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "process/runner.h"

namespace gate::registry {
namespace {

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Hosts as they appear in docker's config.json: docker.io is stored under
// its historical index URL.
std::vector<std::string> config_keys_for(const std::string& registry) {
  if (registry == "docker.io" || registry == "registry-1.docker.io" || registry == "index.docker.io") {
    return {"https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"};
  }
  return {registry, "https://" + registry, "http://" + registry};
}

Credentials run_helper(const std::string& helper, const std::string& registry) {
  process::Spec spec;
  spec.argv = {"docker-credential-" + helper, "get"};
  spec.input = registry + "\n";
  spec.timeout = std::chrono::seconds(30);
  spec.ignore_interrupt = false;
  auto result = process::run(spec);
  if (result.interrupted) throw Interrupted();
  if (!result.ok()) {
    // "credentials not found" is an answer, not a failure.
    if (result.output.find("not found") != std::string::npos) return {};
    throw InfraError(
        fmt::format("credential helper docker-credential-{} for {} failed ({})", helper, registry, result.describe()));
  }
  try {
    auto json = nlohmann::json::parse(result.output);
    Credentials c{json.value("Username", ""), json.value("Secret", ""), "docker-credential-" + helper};
    if (c.username == "<token>") c.username.clear();  // an identity token, not a user
    return c;
  } catch (const nlohmann::json::exception&) {
    throw InfraError(fmt::format("credential helper docker-credential-{} for {} answered something that is not JSON",
                                 helper, registry));
  }
}

}  // namespace

std::vector<std::string> Challenge::scopes() const {
  std::vector<std::string> out;
  std::istringstream in(param("scope"));
  for (std::string scope; in >> scope;) out.push_back(scope);
  return out;
}

std::optional<Challenge> parse_challenge(std::string_view header) {
  size_t i = 0;
  while (i < header.size() && std::isspace(static_cast<unsigned char>(header[i]))) ++i;
  size_t scheme_start = i;
  while (i < header.size() && !std::isspace(static_cast<unsigned char>(header[i]))) ++i;
  Challenge challenge;
  challenge.scheme = lower(std::string(header.substr(scheme_start, i - scheme_start)));
  if (challenge.scheme != "basic" && challenge.scheme != "bearer") return std::nullopt;
  while (i < header.size()) {
    while (i < header.size() && (std::isspace(static_cast<unsigned char>(header[i])) || header[i] == ',')) ++i;
    size_t key_start = i;
    while (i < header.size() && header[i] != '=' && header[i] != ',') ++i;
    std::string key = lower(std::string(header.substr(key_start, i - key_start)));
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
    if (i >= header.size() || header[i] != '=') break;
    ++i;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      while (i < header.size() && header[i] != '"') {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i++];
      }
      ++i;  // closing quote
    } else {
      while (i < header.size() && header[i] != ',') value += header[i++];
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    }
    if (!key.empty()) challenge.params[key] = value;
  }
  return challenge;
}

Credentials find_credentials(const std::string& registry) {
  const char* user = std::getenv("GATE_REGISTRY_USER");
  const char* password = std::getenv("GATE_REGISTRY_PASSWORD");
  if (user && password) {
    log::add_secret(password);
    return {user, password, "GATE_REGISTRY_USER/GATE_REGISTRY_PASSWORD"};
  }
  std::string dir;
  if (const char* docker_config = std::getenv("DOCKER_CONFIG"); docker_config && *docker_config) {
    dir = docker_config;
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    dir = std::string(home) + "/.docker";
  }
  if (dir.empty()) return {};
  std::ifstream in(dir + "/config.json");
  if (!in) return {};
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    log::warn(
        fmt::format("{}/config.json is not valid JSON ({}); no registry credentials read from it", dir, e.what()));
    return {};
  }
  auto keys = config_keys_for(registry);
  Credentials found;
  if (config.contains("credHelpers") && config["credHelpers"].is_object()) {
    for (const auto& key : keys) {
      if (config["credHelpers"].contains(key)) {
        found = run_helper(config["credHelpers"][key].get<std::string>(), key);
        break;
      }
    }
  }
  if (found.empty() && config.contains("auths") && config["auths"].is_object()) {
    for (const auto& key : keys) {
      if (!config["auths"].contains(key)) continue;
      const auto& entry = config["auths"][key];
      if (entry.contains("auth") && entry["auth"].is_string()) {
        std::string decoded = base64_decode(entry["auth"].get<std::string>());
        auto colon = decoded.find(':');
        if (colon != std::string::npos) {
          found = {decoded.substr(0, colon), decoded.substr(colon + 1), dir + "/config.json"};
          log::add_secret(entry["auth"].get<std::string>());
        }
      }
      break;
    }
  }
  if (found.empty() && config.contains("credsStore") && config["credsStore"].is_string()) {
    found = run_helper(config["credsStore"].get<std::string>(), keys.front());
  }
  if (!found.password.empty()) log::add_secret(found.password);
  return found;
}

Token parse_token_response(const std::string& body, std::chrono::steady_clock::time_point now) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    throw InfraError("the token endpoint answered something that is not JSON");
  }
  std::string token;
  if (json.contains("token") && json["token"].is_string()) token = json["token"].get<std::string>();
  if (token.empty() && json.contains("access_token") && json["access_token"].is_string()) {
    token = json["access_token"].get<std::string>();
  }
  if (token.empty()) throw InfraError("the token endpoint's answer holds no token");
  long long expires_in = 60;  // the distribution spec's default
  if (json.contains("expires_in") && json["expires_in"].is_number_integer())
    expires_in = json["expires_in"].get<long long>();
  if (expires_in < 60) expires_in = 60;
  log::add_secret(token);
  // Renew a little early so a token never expires in flight.
  return Token{token, now + std::chrono::seconds(expires_in) - std::chrono::seconds(10)};
}

}  // namespace gate::registry

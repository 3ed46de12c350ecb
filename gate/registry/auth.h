#pragma once
// Registry authentication: challenges, credentials and bearer tokens.
//
// A registry that wants credentials answers 401 with a challenge:
//   WWW-Authenticate: Basic realm="..."
//   WWW-Authenticate: Bearer realm="https://auth/token",service="registry",scope="repository:a/b:pull,push"
// For Basic the client resends with the user's credentials; for Bearer it
// asks the realm for a token (with the credentials, if any) and resends with
// that token. Tokens are cached per scope until they expire.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoding.h"

namespace gate::registry {

struct Challenge {
  std::string scheme;                         // "basic" or "bearer" (lower case)
  std::map<std::string, std::string> params;  // realm, service, scope, error... (keys lower case)

  std::string param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? "" : it->second;
  }
  // The scope split on spaces: a challenge may ask for several.
  std::vector<std::string> scopes() const;
};

// Parses one WWW-Authenticate header value; nullopt when it is not one.
std::optional<Challenge> parse_challenge(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;  // or an identity token
  std::string source;    // where they came from, for messages ("GATE_REGISTRY_USER", "~/.docker/config.json")
  bool empty() const { return username.empty() && password.empty(); }
};

// Credentials for a registry host: GATE_REGISTRY_USER / GATE_REGISTRY_PASSWORD,
// else the docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json):
// credHelpers[host], then credsStore (both through docker-credential-<name> get),
// then auths[host].auth. Every secret found is registered for redaction.
// Throws InfraError when a configured helper fails.
Credentials find_credentials(const std::string& registry);

struct Token {
  std::string value;
  std::chrono::steady_clock::time_point expires;
};

// Reads a token endpoint's JSON answer ({"token"|"access_token", "expires_in"}).
// Throws InfraError when it holds no token.
Token parse_token_response(const std::string& body, std::chrono::steady_clock::time_point now);

using core::base64_decode;
using core::base64_encode;

}  // namespace gate::registry

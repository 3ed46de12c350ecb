#include "registry/certs.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "registry/warmup.h"

namespace gate::registry {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("{}: cannot read this CA certificate file", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::filesystem::path default_certs_dir() {
  if (const char* dir = std::getenv("GATE_REGISTRY_CERTS_DIR"); dir && *dir) return dir;
  return "/etc/docker/certs.d";
}

RegistryCas registry_cas(const std::filesystem::path& certs_dir, const std::string& registry) {
  RegistryCas cas;
  std::error_code error;
  const std::filesystem::path dir = certs_dir / registry;
  if (!std::filesystem::is_directory(dir, error)) return cas;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".crt") cas.files.push_back(entry.path());
  }
  if (cas.files.empty()) return cas;
  std::sort(cas.files.begin(), cas.files.end());

  // libcurl takes one set of CAs per connection: the extra ones replace the
  // system bundle unless it comes first. (libcurl initialised first: its
  // version data is not to be read while the warm-up initialises it.)
  wait_for_curl();
  if (const char* bundle = curl_version_info(CURLVERSION_NOW)->cainfo; bundle && *bundle) {
    cas.pem = read_file(bundle);
    if (!cas.pem.empty() && cas.pem.back() != '\n') cas.pem += '\n';
  }
  for (const auto& file : cas.files) {
    std::string pem = read_file(file);
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      throw UsageError(
          fmt::format("{}: no PEM certificate in this CA file (for registry {})", file.string(), registry));
    }
    cas.pem += pem;
    if (cas.pem.back() != '\n') cas.pem += '\n';
  }
  return cas;
}

}  // namespace gate::registry

#include "registry/digest.h"

#include <openssl/evp.h>

#include <array>
#include <memory>

#include "core/error.h"

namespace gate::registry {

std::string sha256_digest(std::string_view bytes) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
  unsigned int length = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), hash.data(), &length) != 1) {
    throw InfraError("sha256: OpenSSL digest failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[hash[i] >> 4];
    out += kHex[hash[i] & 0xf];
  }
  return out;
}

}  // namespace gate::registry

namespace gate::registry {
std::string sha256_file(std::FILE* file) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw InfraError("sha256: OpenSSL digest failed");
  std::array<char, 64 * 1024> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) {
    if (EVP_DigestUpdate(ctx.get(), buffer.data(), n) != 1) throw InfraError("sha256: OpenSSL digest failed");
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx.get(), hash.data(), &length) != 1) throw InfraError("sha256: OpenSSL digest failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[hash[i] >> 4];
    out += kHex[hash[i] & 0xf];
  }
  return out;
}
}  // namespace gate::registry

#include "registry/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <memory>

#include "core/error.h"

namespace gate::registry {
namespace {

// OpenSSL 3 looks an algorithm up in its providers; the first look-up builds
// their tables (~3M instructions, ~1 ms). Fetched once, kept for the process.
const EVP_MD* sha256_method() {
  static const EVP_MD* method = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (!method) throw InfraError("sha256: OpenSSL has no SHA256");
  return method;
}

// A sha256 computation fed in pieces (one owner for the OpenSSL context).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), sha256_method(), nullptr) != 1) throw InfraError("sha256: OpenSSL digest failed");
  }
  void update(const void* data, size_t size) {
    if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw InfraError("sha256: OpenSSL digest failed");
  }
  // "sha256:<hex>"
  std::string finish() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), hash.data(), &length) != 1) throw InfraError("sha256: OpenSSL digest failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned int i = 0; i < length; ++i) {
      out += kHex[hash[i] >> 4];
      out += kHex[hash[i] & 0xf];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace

void prepare_sha256() { (void)sha256_method(); }

std::string sha256_digest(std::string_view bytes) {
  Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  return sha.finish();
}

std::string sha256_file(std::FILE* file) {
  Sha256 sha;
  std::array<char, 64 * 1024> buffer{};
  for (size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0;) sha.update(buffer.data(), n);
  return sha.finish();
}

struct HmacSha256::State {
  Sha256 inner, outer;
};

HmacSha256::HmacSha256(std::string_view key) : state_(std::make_unique<State>()) {
  std::string block(64, '\0');
  if (key.size() > block.size()) {
    std::string digest = sha256_digest(key);  // "sha256:<hex>": the raw bytes are wanted
    for (size_t i = 0; i < 32; ++i) block[i] = static_cast<char>(std::stoi(digest.substr(7 + 2 * i, 2), nullptr, 16));
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::string ipad = block, opad = block;
  for (auto& c : ipad) c = static_cast<char>(c ^ 0x36);
  for (auto& c : opad) c = static_cast<char>(c ^ 0x5c);
  state_->inner.update(ipad.data(), ipad.size());
  state_->outer.update(opad.data(), opad.size());
}

HmacSha256::~HmacSha256() = default;

void HmacSha256::update(std::string_view bytes) { state_->inner.update(bytes.data(), bytes.size()); }

std::string HmacSha256::hex() {
  std::string inner = state_->inner.finish().substr(7);
  std::string raw(32, '\0');
  for (size_t i = 0; i < 32; ++i) raw[i] = static_cast<char>(std::stoi(inner.substr(2 * i, 2), nullptr, 16));
  state_->outer.update(raw.data(), raw.size());
  return state_->outer.finish().substr(7);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (!HMAC(sha256_method(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(bytes.data()),
            bytes.size(), mac.data(), &length)) {
    throw InfraError("hmac-sha256: OpenSSL failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

}  // namespace gate::registry

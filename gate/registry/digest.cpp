#include "registry/digest.h"

#include <openssl/evp.h>

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

std::string hex_of(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

// A sha256 computation fed in pieces (one owner for the OpenSSL context).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), sha256_method(), nullptr) != 1)
      throw InfraError("sha256: OpenSSL digest failed");
  }
  void update(const void* data, size_t size) {
    if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw InfraError("sha256: OpenSSL digest failed");
  }
  // The 32 bytes of the hash.
  std::string finish_raw() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), hash.data(), &length) != 1) throw InfraError("sha256: OpenSSL digest failed");
    return std::string(reinterpret_cast<const char*>(hash.data()), length);
  }
  // "sha256:<hex>"
  std::string finish() { return "sha256:" + hex_of(finish_raw()); }

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

struct Sha256Stream::State {
  Sha256 sha;
};
Sha256Stream::Sha256Stream() : state_(std::make_unique<State>()) {}
Sha256Stream::~Sha256Stream() = default;
void Sha256Stream::update(std::string_view bytes) { state_->sha.update(bytes.data(), bytes.size()); }
std::string Sha256Stream::hex() { return hex_of(state_->sha.finish_raw()); }

struct HmacSha256::State {
  Sha256 inner, outer;
  // Small updates gathered and hashed a block at a time: each EVP update
  // costs ~2,500 instructions of OpenSSL 3's dispatch, and the timing store
  // feeds its MAC two updates a line (a line and its newline).
  std::string pending;
  static constexpr size_t kGather = 64 * 1024;
  void flush() {
    if (pending.empty()) return;
    inner.update(pending.data(), pending.size());
    pending.clear();
  }
};

HmacSha256::HmacSha256(std::string_view key) : state_(std::make_unique<State>()) {
  std::string block(64, '\0');
  if (key.size() > block.size()) {  // a long key is hashed first
    Sha256 sha;
    sha.update(key.data(), key.size());
    const std::string hashed = sha.finish_raw();
    std::copy(hashed.begin(), hashed.end(), block.begin());
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

void HmacSha256::update(std::string_view bytes) {
  if (bytes.size() >= State::kGather) {
    state_->flush();
    state_->inner.update(bytes.data(), bytes.size());
    return;
  }
  if (state_->pending.size() + bytes.size() > State::kGather) state_->flush();
  state_->pending.append(bytes);
}

std::string HmacSha256::hex() {
  state_->flush();
  const std::string inner = state_->inner.finish_raw();
  state_->outer.update(inner.data(), inner.size());
  return hex_of(state_->outer.finish_raw());
}

std::string hmac_sha256_hex(std::string_view key, std::string_view bytes) {
  HmacSha256 mac(key);
  mac.update(bytes);
  return mac.hex();
}

}  // namespace gate::registry

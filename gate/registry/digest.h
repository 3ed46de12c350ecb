#pragma once
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace gate::registry {

// Does the one-time set-up of sha256 now (see registry/warmup.h).
void prepare_sha256();
// "sha256:<hex>" of the bytes, as the registry names content.
std::string sha256_digest(std::string_view bytes);
// The same of a file's contents from its current position to the end.
std::string sha256_file(std::FILE* file);
// sha256 fed in pieces: for what is hashed as it is produced.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(std::string_view bytes);
  std::string hex();  // once

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// HMAC-SHA256 of the bytes under the key, as lowercase hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view bytes);

// The same, fed in pieces (RFC 2104 over two sha256 computations): for
// what is written or read as a stream.
class HmacSha256 {
 public:
  explicit HmacSha256(std::string_view key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;
  void update(std::string_view bytes);
  std::string hex();  // once

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace gate::registry

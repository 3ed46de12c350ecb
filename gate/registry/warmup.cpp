#include "registry/warmup.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <future>

#include "registry/digest.h"

namespace gate::registry {
namespace {

// On its own thread: libcurl first (the first request waits for it), then
// sha256 (needed only once a manifest has arrived, so it overlaps the first
// request as well).
class LibrarySetUp {
 public:
  LibrarySetUp()
      : curl_ready_(curl_done_.get_future().share()), done_(std::async(std::launch::async, [this] {
          // The process exits right after its work: OpenSSL's clean-up at
          // exit would only free memory, slowly.
          OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
          curl_global_init(CURL_GLOBAL_DEFAULT);
          curl_done_.set_value();
          try {
            prepare_sha256();
          } catch (...) {
            // Reported where sha256 is used.
          }
        })) {}

  void wait_for_curl() const { curl_ready_.wait(); }
  void wait_for_all() const { done_.wait(); }

 private:
  std::promise<void> curl_done_;
  std::shared_future<void> curl_ready_;
  std::future<void> done_;  // last: destroyed (waited for) first
};

LibrarySetUp& set_up() {
  static LibrarySetUp libraries;
  return libraries;
}

}  // namespace

Warmup::Warmup() { (void)set_up(); }
Warmup::~Warmup() { set_up().wait_for_all(); }

void wait_for_curl() { set_up().wait_for_curl(); }

}  // namespace gate::registry

#pragma once
// The one-time, process-wide set-up of the libraries the registry client
// uses: libcurl's global initialisation (which initialises OpenSSL) and
// OpenSSL's sha256 look-up, together ~2 ms of CPU. A Warmup starts it on a
// thread of its own as soon as the command is known, so it overlaps reading
// the config instead of delaying the first request.
namespace gate::registry {

class Warmup {
 public:
  Warmup();   // starts the set-up (once per process)
  ~Warmup();  // waits for it: keep the Warmup in main's scope, so the set-up never outlives main
  Warmup(const Warmup&) = delete;
  Warmup& operator=(const Warmup&) = delete;
};

// Blocks until libcurl is initialised, starting the set-up here if no Warmup did.
void wait_for_curl();

}  // namespace gate::registry

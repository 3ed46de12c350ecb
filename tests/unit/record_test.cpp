// The one rule every command follows when it attaches a verification record
// (run, and merge, whose own copy of it once swallowed an interrupt): a
// registry that fails makes a warning and the verdict stands; an interrupt
// is passed on, so the command stops and says "interrupted".
#include <gtest/gtest.h>

#include "core/error.h"
#include "pipeline/session.h"
#include "registry/client.h"

namespace {

// Fails the first request records make, with what the test chooses.
class FailingRegistry : public gate::registry::Registry {
 public:
  explicit FailingRegistry(bool interrupt) : interrupt_(interrupt) {}
  const std::string& registry() const override { return name_; }
  std::optional<gate::registry::Manifest> get_manifest(const std::string&, const std::string&) override { fail(); }
  std::optional<std::string> head_manifest(const std::string&, const std::string&) override { fail(); }
  std::string put_manifest(const std::string&, const std::string&, const gate::registry::Manifest&) override { fail(); }
  gate::registry::BlobCopy mount_blob(const std::string&, const std::string&, const std::string&) override { fail(); }
  std::optional<std::string> get_blob(const std::string&, const std::string&) override { fail(); }
  std::string push_blob(const std::string&, const std::string&) override { fail(); }
  std::vector<std::string> list_tags(const std::string&) override { fail(); }
  bool delete_manifest(const std::string&, const std::string&) override { fail(); }
  void set_interruptible(bool) override {}
  int requests = 0;

 private:
  [[noreturn]] void fail() {
    ++requests;
    if (interrupt_) throw gate::Interrupted();
    throw gate::registry::RegistryError(gate::registry::Failure::server, "GET: 500 (test)");
  }
  bool interrupt_;
  std::string name_ = "fake:5000";
};

gate::config::Config config() {
  gate::config::Config c;
  c.image.repository = "127.0.0.1:5000/acme/emu";
  return c;
}

gate::report::Verdict passing() {
  gate::report::Verdict v;
  v.candidate = {"127.0.0.1:5000/acme/emu", "pr-1", "sha256:" + std::string(64, 'a')};
  return v;
}

}  // namespace

TEST(RecordVerification, ARegistryFailureIsAWarning) {
  FailingRegistry registry(false);
  EXPECT_NO_THROW(gate::pipeline::record_verification(registry, config(), passing()));
  EXPECT_GE(registry.requests, 1);
}

TEST(RecordVerification, AnInterruptIsPassedOn) {
  FailingRegistry registry(true);
  EXPECT_THROW(gate::pipeline::record_verification(registry, config(), passing()), gate::Interrupted);
}

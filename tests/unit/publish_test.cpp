// publish() through an in-memory registry that can refuse, time out and
// apply a write late: all tags or none, the truth about each, compare-and-swap
// and idempotence, without docker or a registry process.
#include "pipeline/publish.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>

#include "registry/client.h"

using gate::pipeline::PublishConflict;
using gate::pipeline::PublishRequest;
using gate::registry::Manifest;

namespace {

class FakeRegistry : public gate::registry::Registry {
 public:
  FakeRegistry() {
    manifests_["sha256:old"] = {"application/vnd.oci.image.manifest.v1+json", "{\"old\":1}", "sha256:old"};
    manifests_["sha256:new"] = {"application/vnd.oci.image.manifest.v1+json", "{\"config\":{}}", "sha256:new"};
    tags_["latest"] = "sha256:old";
    tags_["stable"] = "sha256:old";
  }

  const std::string& registry() const override { return name_; }
  std::optional<Manifest> get_manifest(const std::string&, const std::string& reference) override {
    std::lock_guard lock(mutex_);
    auto digest = reference.rfind("sha256:", 0) == 0 ? reference : tags_.count(reference) ? tags_[reference] : "";
    if (!manifests_.count(digest)) return std::nullopt;
    return manifests_[digest];
  }
  std::optional<std::string> head_manifest(const std::string&, const std::string& reference) override {
    std::lock_guard lock(mutex_);
    ++heads_;
    if (unreadable_) throw gate::registry::RegistryError(gate::registry::Failure::timeout, "HEAD: no answer (test)");
    // A write that timed out for the client lands once the registry answers again.
    if (late_.count(reference) && ++late_reads_ > 1) {
      tags_[reference] = late_[reference];
      late_.erase(reference);
    }
    if (!tags_.count(reference)) return std::nullopt;
    return tags_[reference];
  }
  std::string put_manifest(const std::string&, const std::string& reference, const Manifest& manifest) override {
    std::lock_guard lock(mutex_);
    ++puts_[reference];
    if (refuse_.count(reference) && manifest.digest == "sha256:new") {
      throw gate::registry::RegistryError(gate::registry::Failure::server, "PUT: 500 (test)");
    }
    if (land_late_.count(reference) && manifest.digest == "sha256:new") {
      land_late_.erase(reference);
      late_[reference] = manifest.digest;  // not yet: the client times out, the write lands later
      throw gate::registry::RegistryError(gate::registry::Failure::timeout,
                                          "PUT: no answer within the deadline (test)");
    }
    tags_[reference] = manifest.digest;
    return manifest.digest;
  }
  gate::registry::BlobCopy mount_blob(const std::string&, const std::string&, const std::string&) override {
    return gate::registry::BlobCopy::present;
  }
  std::optional<std::string> get_blob(const std::string&, const std::string&) override { return std::nullopt; }
  std::string push_blob(const std::string&, const std::string&) override {
    throw gate::registry::RegistryError(gate::registry::Failure::server, "publish pushes no blob (test)");
  }
  std::vector<std::string> list_tags(const std::string&) override {
    throw gate::registry::RegistryError(gate::registry::Failure::server, "publish lists no tag (test)");
  }
  bool delete_manifest(const std::string&, const std::string&) override {
    throw gate::registry::RegistryError(gate::registry::Failure::server, "publish deletes nothing (test)");
  }
  void set_interruptible(bool) override {}

  std::string tag(const std::string& name) {
    std::lock_guard lock(mutex_);
    return tags_.count(name) ? tags_[name] : "";
  }
  int puts(const std::string& name) {
    std::lock_guard lock(mutex_);
    return puts_[name];
  }

  std::set<std::string> refuse_;     // tags whose PUT of the new digest fails
  std::set<std::string> land_late_;  // tags whose PUT times out but lands at a later read
  bool unreadable_ = false;          // every HEAD times out

 private:
  std::string name_ = "fake:5000";
  std::mutex mutex_;
  std::map<std::string, Manifest> manifests_;
  std::map<std::string, std::string> tags_;
  std::map<std::string, std::string> late_;
  std::map<std::string, int> puts_;
  int heads_ = 0;
  int late_reads_ = 0;
};

PublishRequest request_for(std::vector<std::string> tags) {
  PublishRequest request;
  request.source_repository = request.target_repository = "acme/emu";
  request.digest = "sha256:new";
  request.tags = std::move(tags);
  request.settle = std::chrono::milliseconds(5);
  request.settle_window = std::chrono::milliseconds(40);
  request.rollback_budget = std::chrono::milliseconds(400);
  return request;
}

std::string error_of(FakeRegistry& registry, const PublishRequest& request) {
  try {
    gate::pipeline::publish(registry, request);
  } catch (const gate::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Publish, MovesEveryTagAndIsIdempotent) {
  FakeRegistry registry;
  auto published = gate::pipeline::publish(registry, request_for({"latest", "stable"}));
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(registry.tag("latest"), "sha256:new");
  EXPECT_EQ(registry.tag("stable"), "sha256:new");
  EXPECT_EQ(published[0].previous_digest, "sha256:old");
  gate::pipeline::publish(registry, request_for({"latest", "stable"}));
  EXPECT_EQ(registry.puts("latest"), 1) << "a tag already at the digest is not written again";
  EXPECT_EQ(registry.puts("stable"), 1);
}

TEST(Publish, AFailedTagSetsTheOthersBack) {
  FakeRegistry registry;
  registry.refuse_ = {"stable"};
  std::string error = error_of(registry, request_for({"latest", "stable"}));
  EXPECT_NE(error.find("all tags or none"), std::string::npos) << error;
  EXPECT_EQ(registry.tag("latest"), "sha256:old");
  EXPECT_EQ(registry.tag("stable"), "sha256:old");
  EXPECT_NE(error.find("latest: restored to sha256:old"), std::string::npos) << error;
  EXPECT_NE(error.find("stable: unchanged at sha256:old"), std::string::npos) << error;
}

TEST(Publish, AWriteThatLandsLateIsSetBackAndReportedTruly) {
  FakeRegistry registry;
  registry.land_late_ = {"stable"};
  std::string error = error_of(registry, request_for({"latest", "stable"}));
  EXPECT_EQ(registry.tag("latest"), "sha256:old");
  EXPECT_EQ(registry.tag("stable"), "sha256:old") << "the late write stayed: " << error;
  EXPECT_EQ(error.find("stable: unchanged"), std::string::npos) << "a tag that moved was reported unchanged: " << error;
  EXPECT_NE(error.find("stable: restored to sha256:old"), std::string::npos) << error;
}

TEST(Publish, ATagThatCannotBeReadIsUnknownNotUnchanged) {
  // Once the PUT failed, the registry stops answering HEADs.
  struct Unreadable : FakeRegistry {
    std::string put_manifest(const std::string& r, const std::string& ref, const Manifest& m) override {
      try {
        return FakeRegistry::put_manifest(r, ref, m);
      } catch (...) {
        unreadable_ = true;
        throw;
      }
    }
  } frozen;
  frozen.refuse_ = {"stable"};
  auto request = request_for({"latest", "stable"});
  request.expect = {{"latest", "sha256:old"}, {"stable", "sha256:old"}};  // CAS: latest moves first, alone
  request.tags = {"latest", "stable"};
  std::string error = error_of(frozen, request);
  EXPECT_NE(error.find("UNKNOWN"), std::string::npos) << error;
  EXPECT_EQ(error.find("unchanged"), std::string::npos) << error;
}

TEST(Publish, CompareAndSwapRefusesATagMovedMeanwhileAndWritesNothing) {
  FakeRegistry registry;
  auto request = request_for({"latest", "stable"});
  request.expect = {{"latest", "sha256:someone-else"}, {"stable", "sha256:old"}};
  EXPECT_THROW(gate::pipeline::publish(registry, request), PublishConflict);
  EXPECT_EQ(registry.puts("latest"), 0);
  EXPECT_EQ(registry.puts("stable"), 0);
  EXPECT_EQ(registry.tag("latest"), "sha256:old");
}

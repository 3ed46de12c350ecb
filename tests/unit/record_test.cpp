// The one rule every command follows when it attaches a verification record
// (run, and merge, whose own copy of it once swallowed an interrupt): a
// registry that fails makes a warning and the verdict stands; an interrupt
// is passed on, so the command stops and says "interrupted".
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "pipeline/record.h"
#include "pipeline/referrers.h"
#include "pipeline/session.h"
#include "registry/client.h"
#include "registry/digest.h"
#include "registry/manifest.h"

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
  std::atomic<int> requests{0};  // a record reads its index while it pushes

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
  c.digest = "sha256:" + std::string(64, 'e');
  return c;
}

gate::report::Verdict passing() {
  gate::report::Verdict v;
  v.candidate = {"127.0.0.1:5000/acme/emu", "pr-1", "sha256:" + std::string(64, 'a')};
  return v;
}

// A config with one consumer, cli, and a verdict in which it passed on `image`.
gate::config::Config config_with_cli() {
  auto c = config();
  c.consumers.push_back({});
  c.consumers.back().name = "cli";
  c.consumers.back().repo = "/src/cli";
  return c;
}

gate::report::Verdict cli_passed_on(const std::string& image) {
  auto verdict = passing();
  verdict.candidate.digest = image;
  verdict.exit_code = gate::ExitCode::passed;
  gate::report::ConsumerResult cli;
  cli.name = "cli";
  cli.repo = "/src/cli";
  cli.status = gate::report::ConsumerStatus::passed;
  verdict.consumers.push_back(cli);
  return verdict;
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

// An image tested again and again: its referrers index lists the newest
// records only (every write of the index is checked entry by entry by the
// registry), and never drops a revocation.
namespace {

class MemoryRegistry : public gate::registry::Registry {
 public:
  const std::string& registry() const override { return name_; }
  std::optional<gate::registry::Manifest> get_manifest(const std::string&, const std::string& reference) override {
    std::lock_guard lock(mutex_);
    auto digest = reference.rfind("sha256:", 0) == 0 ? reference : tags_.count(reference) ? tags_[reference] : "";
    if (!manifests_.count(digest)) return std::nullopt;
    return manifests_[digest];
  }
  std::optional<std::string> head_manifest(const std::string& repository, const std::string& reference) override {
    auto manifest = get_manifest(repository, reference);
    if (!manifest) return std::nullopt;
    return manifest->digest;
  }
  std::string put_manifest(const std::string&, const std::string& reference,
                           const gate::registry::Manifest& manifest) override {
    std::lock_guard lock(mutex_);
    manifests_[manifest.digest] = manifest;
    if (reference.rfind("sha256:", 0) != 0) tags_[reference] = manifest.digest;
    return manifest.digest;
  }
  gate::registry::BlobCopy mount_blob(const std::string&, const std::string&, const std::string&) override {
    return gate::registry::BlobCopy::present;
  }
  std::optional<std::string> get_blob(const std::string&, const std::string& digest) override {
    std::lock_guard lock(mutex_);
    if (!blobs_.count(digest)) return std::nullopt;
    return blobs_[digest];
  }
  std::string push_blob(const std::string&, const std::string& bytes) override {
    std::string digest = gate::registry::sha256_digest(bytes);
    std::lock_guard lock(mutex_);
    blobs_[digest] = bytes;
    return digest;
  }
  std::vector<std::string> list_tags(const std::string&) override { return {}; }
  bool delete_manifest(const std::string&, const std::string&) override { return false; }
  void set_interruptible(bool) override {}

  std::map<std::string, gate::registry::Manifest> manifests_;
  std::map<std::string, std::string> tags_;
  std::map<std::string, std::string> blobs_;
  // A record reads its index while it pushes (two threads).
  std::recursive_mutex mutex_;

 private:
  std::string name_ = "memory:5000";
};

}  // namespace

TEST(RecordVerification, TheIndexListsTheNewestRecordsAndKeepsNotices) {
  MemoryRegistry registry;
  const std::string image = "sha256:" + std::string(64, 'b');
  registry.manifests_[image] = {gate::registry::kOciManifest, "{\"image\":1}", image};
  const auto config = config_with_cli();
  gate::pipeline::attach_notice(registry, "acme/emu", image, gate::pipeline::NoticeKind::revocation,
                                {"2026-01-01T00:00:00Z", "ops", "broke writes", ""});
  auto verdict = cli_passed_on(image);
  for (int i = 0; i < 25; ++i) {
    verdict.started_at = "2026-01-02T00:00:" + std::to_string(10 + i) + "Z";
    gate::pipeline::attach_record(registry, "acme/emu", gate::pipeline::record_of(verdict, config.digest));
  }
  auto index = nlohmann::json::parse(registry.get_manifest("acme/emu", gate::pipeline::referrers_tag(image))->body);
  size_t records = 0, notices = 0;
  std::string oldest_listed;
  for (const auto& entry : index["manifests"]) {
    if (entry["artifactType"] == gate::pipeline::kVsaArtifactType) {
      if (records++ == 0) oldest_listed = entry["annotations"]["org.opencontainers.image.created"];
    } else {
      ++notices;
    }
  }
  EXPECT_EQ(records, gate::pipeline::kRecordsListed);
  EXPECT_EQ(oldest_listed, "2026-01-02T00:00:15Z") << "the five oldest records are the ones dropped";
  EXPECT_EQ(notices, 1u) << "the revocation is never dropped";
  EXPECT_TRUE(gate::pipeline::read_notice(registry, "acme/emu", image, gate::pipeline::NoticeKind::revocation));
  auto seen = gate::pipeline::read_records(registry, "acme/emu", image, config);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].verified);
}

// The policy a record names is the config the run read (its digest, taken
// when it was read), not whatever the file holds when the run ends: here
// the file is not even there any more.
TEST(RecordVerification, ThePolicyIsTheConfigAsTheRunReadIt) {
  auto verdict = cli_passed_on("sha256:" + std::string(64, 'b'));
  verdict.config_file = "/nonexistent/gate.yaml";
  auto document = nlohmann::json::parse(gate::pipeline::record_of(verdict, config_with_cli().digest).document);
  const auto& policy = document["predicate"]["policy"];
  EXPECT_EQ(policy["digest"]["sha256"], std::string(64, 'e'));
  EXPECT_EQ(policy["uri"], "file:gate.yaml");
}

// A record is anyone's push: a consumer entry whose shard is not a string
// (a forged or garbled record) is not a whole run, and does not verify.
TEST(RecordVerification, AnEntryWithAShardOfAnotherTypeDoesNotVerify) {
  MemoryRegistry registry;
  const std::string image = "sha256:" + std::string(64, 'c');
  registry.manifests_[image] = {gate::registry::kOciManifest, "{\"image\":2}", image};
  const auto config = config_with_cli();
  auto verdict = cli_passed_on(image);
  auto record = gate::pipeline::record_of(verdict, config.digest);
  auto document = nlohmann::json::parse(record.document);
  auto& entry = document["predicate"][gate::pipeline::kConsumersField]["consumers"][0];
  ASSERT_EQ(entry["name"], "cli");
  entry["shard"] = 1;  // not "", not absent
  record.document = document.dump();
  gate::pipeline::attach_record(registry, "acme/emu", record);
  auto seen = gate::pipeline::read_records(registry, "acme/emu", image, config);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].verified);
  // The same record with the shard as written by a whole run verifies.
  entry["shard"] = "";
  record.document = document.dump();
  gate::pipeline::attach_record(registry, "acme/emu", record);
  EXPECT_TRUE(gate::pipeline::read_records(registry, "acme/emu", image, config)[0].verified);
}

namespace {

// A MemoryRegistry that counts what a record asks, and refuses a manifest
// naming a blob it lacks, as docker-registry does (MANIFEST_BLOB_UNKNOWN).
class CountingRegistry : public MemoryRegistry {
 public:
  std::optional<gate::registry::Manifest> get_manifest(const std::string& repository,
                                                       const std::string& reference) override {
    std::lock_guard lock(mutex_);
    gets.push_back(reference);
    return MemoryRegistry::get_manifest(repository, reference);
  }
  std::string put_manifest(const std::string& repository, const std::string& reference,
                           const gate::registry::Manifest& manifest) override {
    std::lock_guard lock(mutex_);
    ++puts;
    auto body = nlohmann::json::parse(manifest.body);
    std::vector<std::string> named;
    if (body.contains("config")) named.push_back(body["config"]["digest"]);
    for (const auto& layer : body.value("layers", nlohmann::json::array())) named.push_back(layer["digest"]);
    for (const auto& digest : named) {
      if (!blobs_.count(digest)) throw gate::registry::BlobUnknown("blob unknown: " + digest);
    }
    return MemoryRegistry::put_manifest(repository, reference, manifest);
  }
  std::string push_blob(const std::string& repository, const std::string& bytes) override {
    std::lock_guard lock(mutex_);
    ++pushes;  // a HEAD, and an upload when absent
    return MemoryRegistry::push_blob(repository, bytes);
  }
  std::string upload_blob(const std::string& repository, const std::string& bytes) override {
    std::lock_guard lock(mutex_);
    ++uploads;
    return MemoryRegistry::push_blob(repository, bytes);
  }
  std::vector<std::string> gets;
  int puts = 0, pushes = 0, uploads = 0;
};

}  // namespace

// A record of a candidate the command resolved asks the registry for
// nothing it already knows: not the image again, not whether its new
// document is there, not whether the empty config is there (only the
// repository's first artifact learns it is not, and pushes it). It still
// verifies, and points at the image as resolved.
TEST(RecordVerification, ARecordOfAResolvedCandidateAsksOnlyWhatItMustWrite) {
  CountingRegistry registry;
  const std::string image = "sha256:" + std::string(64, 'd');
  registry.manifests_[image] = {gate::registry::kOciManifest, "{\"image\":3}", image};
  const auto config = config_with_cli();
  auto verdict = cli_passed_on(image);
  const gate::registry::Descriptor seen = gate::registry::descriptor_of(registry.manifests_[image]);

  // The repository's first artifact: the empty config is pushed after the registry refuses.
  gate::pipeline::attach_record(registry, "acme/emu", gate::pipeline::record_of(verdict, config.digest, seen));
  EXPECT_EQ(registry.gets, std::vector<std::string>{gate::pipeline::referrers_tag(image)}) << "only the index is read";
  EXPECT_EQ(registry.uploads, 1) << "the document is uploaded without asking";
  EXPECT_EQ(registry.pushes, 1) << "the empty config, once the registry said it lacks it";
  EXPECT_EQ(registry.puts, 3) << "refused artifact, artifact, index";

  // Every later record: one upload, two writes, one read.
  registry.gets.clear();
  registry.puts = registry.pushes = registry.uploads = 0;
  verdict.started_at = "2026-01-03T00:00:00Z";
  gate::pipeline::attach_record(registry, "acme/emu", gate::pipeline::record_of(verdict, config.digest, seen));
  EXPECT_EQ(registry.gets, std::vector<std::string>{gate::pipeline::referrers_tag(image)});
  EXPECT_EQ(registry.uploads, 1);
  EXPECT_EQ(registry.pushes, 0);
  EXPECT_EQ(registry.puts, 2);

  auto records = gate::pipeline::read_records(registry, "acme/emu", image, config);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].verified);
  auto index = nlohmann::json::parse(registry.get_manifest("acme/emu", gate::pipeline::referrers_tag(image))->body);
  auto artifact = registry.get_manifest("acme/emu", index["manifests"].back()["digest"]);
  ASSERT_TRUE(artifact);
  auto subject = nlohmann::json::parse(artifact->body)["subject"];
  EXPECT_EQ(subject["digest"], image);
  EXPECT_EQ(subject["size"], registry.manifests_[image].body.size());
  EXPECT_EQ(subject["mediaType"], gate::registry::kOciManifest);
}

// Without the candidate as resolved (a record of a merge), the image is
// asked for, and a record of an image the repository lacks is refused.
TEST(RecordVerification, ARecordOfAnImageNotSeenAsksForIt) {
  CountingRegistry registry;
  auto verdict = passing();
  verdict.exit_code = gate::ExitCode::passed;
  EXPECT_THROW(gate::pipeline::attach_record(registry, "acme/emu", gate::pipeline::record_of(verdict, config().digest)),
               gate::InfraError);
  EXPECT_EQ(registry.gets, std::vector<std::string>{verdict.candidate.digest});
  EXPECT_EQ(registry.uploads + registry.puts, 0) << "nothing written for an image that is not there";
}

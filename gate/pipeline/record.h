#pragma once
// The verified-digest record: after a passing run, what was verified is
// attached to the candidate digest in the registry as an OCI artifact whose
// `subject` is the image. Distribution 2.8 has no referrers API, so the
// artifact is also listed in the referrers tag schema's index, under tag
// "sha256-<hex>" of the subject. `gate status` reads it back, like Pact's
// can-i-deploy.
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "registry/registry.h"
#include "report/model.h"

namespace gate::pipeline {

// A record is an in-toto Statement with a SLSA Verification Summary
// predicate (https://slsa.dev/verification_summary/v1), so that supply-chain
// tools read it; records of gates before it (kRecordArtifactType,
// gate.record/v1) are still read.
inline constexpr const char* kVsaArtifactType = "application/vnd.in-toto+json";
inline constexpr const char* kRecordArtifactType = "application/vnd.gate.verification.v1+json";
inline constexpr const char* kVerifierId = "https://github.com/acme/gate";
// The records an image's referrers index lists, the newest: older ones stay
// in the registry unlisted and no longer count (evidence can only be lost
// that way, never gained). Revocations and overrides are never dropped.
inline constexpr size_t kRecordsListed = 20;
// The VSA's extension field holding gate's per-consumer results.
inline constexpr const char* kConsumersField = "https://github.com/acme/gate/consumers/v1";

// The record of a passing verdict, made (at once, from the verdict) apart
// from attaching it (a few registry requests), so the requests can run
// while the reports are written.
struct Record {
  std::string subject;  // the candidate's digest
  std::string document;
  std::string created;
  // The subject's descriptor when this process read it (empty digest: the
  // registry is asked, and the record refused when it has no such image).
  registry::Descriptor subject_seen;
};
// `config_digest`: of the config's bytes as the run read them (Config::digest).
Record record_of(const report::Verdict& verdict, const std::string& config_digest,
                 const registry::Descriptor& subject_seen = {});
// Attaches it; returns the artifact's digest.
std::string attach_record(registry::Registry& registry, const std::string& repository, const Record& record);

struct ConsumerVerification {
  std::string consumer;
  bool verified = false;
  std::string commit;  // as verified
  std::string verified_at;
  std::string record;  // the artifact's digest
};

// What a person attached to a digest, on the record, as an OCI artifact whose
// subject is the image:
// - a revocation (`gate revoke`): the verification is withdrawn, and status,
//   publish and rollback refuse the digest from then on, whatever its records say;
// - an override (`publish --override`, `rollback --override`): the digest was
//   published without a verification, for the reason given; status says so.
enum class NoticeKind { revocation, override_publish };
struct Notice {
  std::string at;
  std::string who;
  std::string reason;
  std::string artifact;  // its digest
};
// Attaches a notice about `digest` in `repository`; its artifact's digest.
std::string attach_notice(registry::Registry& registry, const std::string& repository, const std::string& digest,
                          NoticeKind kind, const Notice& notice);
// The first notice of that kind attached to `digest`, if any.
std::optional<Notice> read_notice(registry::Registry& registry, const std::string& repository,
                                  const std::string& digest, NoticeKind kind);

// What the records attached to `digest` say about each consumer of the config.
std::vector<ConsumerVerification> read_records(registry::Registry& registry, const std::string& repository,
                                               const std::string& digest, const config::Config& config);

// Empty when `digest` is verified for every consumer of the config (the
// versions selected too) and not revoked; otherwise why not, as a clause
// ("it has no verification record for a, b").
std::string why_not_verified(registry::Registry& registry, const std::string& repository, const std::string& digest,
                             const config::Config& config);

}  // namespace gate::pipeline

// The candidate image and the consumers' checkouts: what run, test and
// bisect build, resolve and bind a consumer run to.
#include "pipeline/candidate.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "registry/reference.h"

namespace gate::pipeline {

// GIT_SHA: the short commit of the repository holding the build context.
std::optional<std::string> git_sha_of(const config::Config& config) {
  auto commit = git::head_commit(config.image.context);
  if (!commit) return std::nullopt;
  return commit->substr(0, 12);
}

std::string candidate_tag_of(const config::Config& config) {
  auto sha = git_sha_of(config);
  if (!config.image.candidate_tag) {
    return sha ? "pr-" + *sha : "pr-" + utc_now("%Y%m%dT%H%M%SZ");
  }
  config::Values values;
  if (sha) values.emplace(std::string(config::kGitSha), *sha);
  std::string tag = config::expand(*config.image.candidate_tag, values, config.file.string());
  if (!registry::is_valid_tag(tag)) {
    throw UsageError(
        fmt::format("{}: image.candidate_tag expands to '{}', which is not a valid tag", config.file.string(), tag));
  }
  return tag;
}

report::Candidate build_candidate(const config::Config& config, const engine::Engine& engine,
                                  registry::Registry& registry, const std::filesystem::path& report_dir,
                                  StageClock& clock, const std::string& revision) {
  report::Candidate candidate;
  candidate.repository = config.image.repository;
  candidate.tag = candidate_tag_of(config);
  const std::string tagged = candidate.repository + ":" + candidate.tag;
  log::info(fmt::format("building {} from {}", tagged, config.image.context.string()));
  clock.measure("build", [&] {
    engine::BuildRequest request{config.image.context,
                                 config.image.dockerfile,
                                 config.image.build_args,
                                 tagged,
                                 report_dir / "logs" / "build.log",
                                 {}};
    // The commit it was built from, on the image: what `gate bisect` starts from.
    const std::string commit = revision.empty() ? git::head_commit(config.image.context).value_or("") : revision;
    if (!commit.empty()) request.labels[std::string(kRevisionLabel)] = commit;
    engine.build(request);
  });
  interrupt::throw_if_requested();
  clock.measure("push", [&] { engine.push(tagged, report_dir / "logs" / "build.log"); });
  // The digest is read back from the registry, not from the engine's output:
  // it is what consumers will pull.
  auto ref = repository_of(config);
  auto manifest = registry.get_manifest(ref.repository, candidate.tag);
  if (!manifest) throw InfraError(fmt::format("push {}: the registry has no such tag after the push", tagged));
  candidate.digest = manifest->digest;
  log::info(fmt::format("candidate {}@{}", tagged, candidate.digest));
  return candidate;
}

// --candidate REF: an image already in the registry, in the configured repository.
report::Candidate resolve_candidate(const config::Config& config, registry::Registry& registry, const std::string& text,
                                    registry::Descriptor* seen) {
  registry::Reference ref = registry::parse_reference(text);
  if (ref.name() != config.image.repository) {
    throw UsageError(fmt::format("--candidate {} is not in the configured repository {} ({})", text,
                                 config.image.repository, config.file.string()));
  }
  report::Candidate candidate;
  candidate.repository = ref.name();
  candidate.tag = ref.tag;
  auto manifest = registry.get_manifest(ref.repository, ref.digest.empty() ? ref.tag : ref.digest);
  if (!manifest) throw InfraError(fmt::format("candidate {}: not found in the registry", text));
  candidate.digest = manifest->digest;
  if (seen) *seen = registry::descriptor_of(*manifest);
  return candidate;
}

config::Values placeholders_of(const config::Config& config, const report::Candidate& candidate) {
  config::Values values;
  values.emplace(std::string(config::kCandidate), candidate.tag.empty() ? candidate.repository + "@" + candidate.digest
                                                                        : candidate.repository + ":" + candidate.tag);
  values.emplace(std::string(config::kCandidateRef), candidate.repository + "@" + candidate.digest);
  values.emplace(std::string(config::kCandidateDigest), candidate.digest);
  values.emplace(std::string(config::kCandidateTag), candidate.tag);
  if (auto sha = git_sha_of(config)) values.emplace(std::string(config::kGitSha), *sha);
  return values;
}

void checkout_all(const config::Config& config, const std::filesystem::path& cache_dir, StageClock& clock,
                  Checkouts& checkouts) {
  for (const auto& consumer : config.consumers) {
    interrupt::throw_if_requested();
    checkouts.list.push_back(clock.measure("checkout:" + consumer.name, [&] {
      auto result = git::checkout(checkout_request_of(consumer, cache_dir));
      log::info(fmt::format("{}: checked out {} at {} ({} files written)", consumer.name,
                            consumer.ref.empty() ? "default branch" : consumer.ref, result.commit,
                            result.files_written));
      return result;
    }));
  }
}

// The image a run is bound to, and every reference that names it.
suite::ImageBinding binding_of(const config::Config& config, const report::Candidate& image, const char* role) {
  suite::ImageBinding binding;
  binding.role = role;
  binding.digest = image.digest;
  binding.placeholders = placeholders_of(config, image);
  binding.refs = {image.repository + "@" + image.digest};
  if (!image.tag.empty()) binding.refs.push_back(image.repository + ":" + image.tag);
  return binding;
}

}  // namespace gate::pipeline

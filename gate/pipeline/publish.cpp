#include "pipeline/publish.h"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <mutex>
#include <thread>

#include "core/interrupt.h"
#include "core/log.h"
#include "registry/manifest.h"

namespace gate::pipeline {
namespace {

std::string shown(const std::string& digest) { return digest.empty() ? "(unset)" : digest; }

// Makes the tested manifest, its children and blobs exist in the target
// repository, by digest, before any tag moves.
void copy_content(registry::Client& registry, const PublishRequest& request, const registry::Manifest& manifest) {
  const std::string what = fmt::format("publish {}/{}@{}", registry.registry(), request.target_repository, request.digest);
  size_t mounted = 0, uploaded = 0, present = 0;
  auto copy_image = [&](const registry::Manifest& image, const std::string& label) {
    auto refs = registry::manifest_refs(image.media_type, image.body, label);
    for (const auto& blob : refs.blobs) {
      interrupt::throw_if_requested();
      switch (registry.mount_blob(request.target_repository, request.source_repository, blob.digest)) {
        case registry::Client::BlobCopy::present: ++present; break;
        case registry::Client::BlobCopy::mounted: ++mounted; break;
        case registry::Client::BlobCopy::uploaded: ++uploaded; break;
      }
    }
    std::string stored = registry.put_manifest(request.target_repository, image.digest, image);
    if (stored != image.digest) {
      throw InfraError(fmt::format("{}: the registry stored {} as '{}'", what, image.digest, stored));
    }
  };
  auto refs = registry::manifest_refs(manifest.media_type, manifest.body, what);
  if (refs.is_index) {
    for (const auto& child : refs.manifests) {
      auto child_manifest = registry.get_manifest(request.source_repository, child.digest);
      if (!child_manifest) throw InfraError(fmt::format("{}: child manifest {} is missing", what, child.digest));
      copy_image(*child_manifest, fmt::format("{} child {} ({})", what, child.digest, child.platform));
    }
    std::string stored = registry.put_manifest(request.target_repository, manifest.digest, manifest);
    if (stored != manifest.digest) throw InfraError(fmt::format("{}: the registry stored the index as '{}'", what, stored));
  } else {
    copy_image(manifest, what);
  }
  log::info(fmt::format("copied {} into {}: {} blob(s) mounted, {} uploaded, {} already there", request.digest,
                        request.target_repository, mounted, uploaded, present));
}

struct Moved {
  std::string tag;
  std::string previous;  // "" when the tag did not exist
};

// Sets tags back to their previous digests; returns a line per tag.
std::vector<std::string> roll_back(registry::Client& registry, const PublishRequest& request,
                                   const std::vector<Moved>& moved) {
  registry.set_interruptible(false);  // a rollback must finish, even after Ctrl-C
  std::vector<std::string> lines;
  for (auto it = moved.rbegin(); it != moved.rend(); ++it) {
    // Look first: a PUT that failed may or may not have landed, and a tag
    // someone else moved since is theirs now.
    std::string now;
    try {
      now = registry.head_manifest(request.target_repository, it->tag).value_or("");
    } catch (const Error&) {
      now = request.digest;  // unknown: assume ours landed and try to restore
    }
    if (now == it->previous) {
      lines.push_back(fmt::format("{}: unchanged at {}", it->tag, shown(it->previous)));
      continue;
    }
    if (now != request.digest) {
      lines.push_back(fmt::format("{}: now at {}, moved by someone else; left alone", it->tag, shown(now)));
      continue;
    }
    if (it->previous.empty()) {
      // Distribution cannot delete a tag without deleting the manifest (and
      // every other tag of it): the new tag stays on the tested digest.
      lines.push_back(fmt::format("{}: was unset; left at the tested {} (the registry cannot remove a tag)", it->tag,
                                  request.digest));
      continue;
    }
    try {
      auto previous = registry.get_manifest(request.target_repository, it->previous);
      if (!previous) throw InfraError("the previous manifest is gone");
      std::string stored = registry.put_manifest(request.target_repository, it->tag, *previous);
      if (stored != it->previous) throw InfraError(fmt::format("the registry stored '{}'", stored));
      lines.push_back(fmt::format("{}: restored to {}", it->tag, it->previous));
    } catch (const Error& e) {
      lines.push_back(fmt::format("{}: NOT restored to {} ({}); it points at the tested {} or its old digest",
                                  it->tag, it->previous, e.what(), request.digest));
    }
  }
  registry.set_interruptible(true);
  return lines;
}

}  // namespace

std::map<std::string, std::string> observe_tags(registry::Client& registry, const std::string& repository,
                                                const std::vector<std::string>& tags) {
  std::map<std::string, std::string> seen;
  for (const auto& tag : tags) seen[tag] = registry.head_manifest(repository, tag).value_or("");
  return seen;
}

std::vector<report::PublishedTag> publish(registry::Client& registry, const PublishRequest& request) {
  const std::string image = fmt::format("{}/{}", registry.registry(), request.target_repository);
  auto manifest = registry.get_manifest(request.source_repository, request.digest);
  if (!manifest) {
    throw InfraError(fmt::format("publish {}/{}@{}: the tested digest is not in the registry", registry.registry(),
                                 request.source_repository, request.digest));
  }
  if (request.target_repository != request.source_repository) copy_content(registry, request, *manifest);

  // Look at every tag before moving any (all at once): a conflict moves nothing.
  std::vector<std::future<std::string>> looks;
  for (const auto& tag : request.tags) {
    looks.push_back(std::async(std::launch::async, [&registry, &request, tag] {
      return registry.head_manifest(request.target_repository, tag).value_or("");
    }));
  }
  std::vector<Moved> plan;
  for (size_t i = 0; i < request.tags.size(); ++i) plan.push_back({request.tags[i], looks[i].get()});
  for (const auto& [tag, current] : plan) {
    if (auto it = request.expect.find(tag); it != request.expect.end() && it->second != current &&
                                             current != request.digest) {
      throw PublishConflict(fmt::format(
          "publish {}:{}: the tag points at {}, not at {} where the gate saw it before testing; "
          "another release was published meanwhile, so this candidate is not published over it",
          image, tag, shown(current), shown(it->second)));
    }
  }
  const bool compare_and_swap = !request.expect.empty();

  std::vector<Moved> moved;
  std::vector<report::PublishedTag> published;
  std::mutex mutex;
  auto move = [&](const Moved& entry) {
    interrupt::throw_if_requested();
    {
      std::lock_guard lock(mutex);
      moved.push_back(entry);  // counted as moved before the PUT: a failed PUT may still have landed
    }
    std::string stored = registry.put_manifest(request.target_repository, entry.tag, *manifest);
    if (stored != request.digest) {
      throw InfraError(fmt::format("publish {}:{}: the registry answered digest '{}', not the tested {}", image,
                                   entry.tag, stored, request.digest));
    }
    std::lock_guard lock(mutex);
    published.push_back({entry.tag, entry.previous, request.digest});
    log::info(fmt::format("published {}:{} -> {} (was {})", image, entry.tag, request.digest, shown(entry.previous)));
  };
  try {
    size_t first_parallel = 0;
    if (compare_and_swap && !plan.empty() && plan[0].previous != request.digest) {
      // The claim: another gate that passed its check at the same moment
      // writes this tag too; after the settle window, the last writer's
      // digest is what both read back, and only that one goes on.
      move(plan[0]);
      std::this_thread::sleep_for(request.settle);
      std::string now = registry.head_manifest(request.target_repository, plan[0].tag).value_or("");
      if (now != request.digest) {
        published.clear();
        moved.clear();  // our write was overwritten: nothing of ours to undo
        throw PublishConflict(fmt::format(
            "publish {}:{}: another run published {} at the same moment and its claim stands; "
            "this candidate is not published over it",
            image, plan[0].tag, shown(now)));
      }
      first_parallel = 1;
    }
    // The remaining tags at once; every failure is collected, then rolled back together.
    std::vector<std::future<void>> puts;
    for (size_t i = first_parallel; i < plan.size(); ++i) {
      puts.push_back(std::async(std::launch::async, [&move, entry = plan[i]] { move(entry); }));
    }
    std::exception_ptr first_error;
    for (auto& put : puts) {
      try {
        put.get();
      } catch (...) {
        if (!first_error) first_error = std::current_exception();
      }
    }
    if (first_error) std::rethrow_exception(first_error);
    // Report in the order the tags were configured.
    std::sort(published.begin(), published.end(), [&](const auto& a, const auto& b) {
      auto index = [&](const std::string& tag) {
        return std::find(request.tags.begin(), request.tags.end(), tag) - request.tags.begin();
      };
      return index(a.tag) < index(b.tag);
    });
  } catch (const PublishConflict&) {
    throw;
  } catch (const Error& e) {
    if (dynamic_cast<const Interrupted*>(&e)) {
      auto lines = roll_back(registry, request, moved);
      for (const auto& line : lines) log::warn("rollback: " + line);
      throw;
    }
    auto lines = roll_back(registry, request, moved);
    std::string account;
    for (const auto& line : lines) account += "\n  " + line;
    throw InfraError(fmt::format("{}\n  publish of {} abandoned, all tags or none:{}", e.what(), request.digest,
                                 account.empty() ? "\n  no tag had moved" : account));
  }
  return published;
}

}  // namespace gate::pipeline

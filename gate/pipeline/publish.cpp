#include "pipeline/publish.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "core/concurrent.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "registry/manifest.h"

namespace gate::pipeline {
namespace {

std::string shown(const std::string& digest) { return digest.empty() ? "(unset)" : digest; }

// How many blobs (or an index's child manifests) are copied at once.
constexpr size_t kCopiesAtOnce = 8;

// Makes the tested manifest's blobs, and an index's child manifests, exist in
// the target repository, before any tag moves: every blob at once (HEAD, then
// a mount, an upload only when the mount is refused). The manifest itself is
// stored by the tag PUTs, which carry its exact bytes.
void copy_content(registry::Registry& registry, const PublishRequest& request, const registry::Manifest& manifest) {
  const std::string what =
      fmt::format("publish {}/{}@{}", registry.registry(), request.target_repository, request.digest);
  std::atomic<size_t> mounted = 0, uploaded = 0, present = 0;
  auto copy_blobs = [&](const std::vector<registry::Descriptor>& blobs) {
    for_each_concurrently(blobs, kCopiesAtOnce, [&](const registry::Descriptor& blob) {
      interrupt::throw_if_requested();
      switch (registry.mount_blob(request.target_repository, request.source_repository, blob.digest)) {
        case registry::BlobCopy::present: ++present; break;
        case registry::BlobCopy::mounted: ++mounted; break;
        case registry::BlobCopy::uploaded: ++uploaded; break;
      }
    });
  };
  auto refs = registry::manifest_refs(manifest.media_type, manifest.body, what);
  if (refs.is_index) {
    // Each child (read by digest, its blobs copied, then PUT by digest) before the index.
    for_each_concurrently(refs.manifests, kCopiesAtOnce, [&](const registry::Descriptor& child) {
      const std::string label = fmt::format("{} child {} ({})", what, child.digest, child.platform);
      auto child_manifest = registry.get_manifest(request.source_repository, child.digest);
      if (!child_manifest) throw InfraError(fmt::format("{}: child manifest {} is missing", what, child.digest));
      copy_blobs(registry::manifest_refs(child_manifest->media_type, child_manifest->body, label).blobs);
      std::string stored = registry.put_manifest(request.target_repository, child.digest, *child_manifest);
      if (stored != child.digest)
        throw InfraError(fmt::format("{}: the registry stored {} as '{}'", label, child.digest, stored));
    });
  } else {
    copy_blobs(refs.blobs);
  }
  log::info(fmt::format("copied {} into {}: {} blob(s) mounted, {} uploaded, {} already there", request.digest,
                        request.target_repository, mounted.load(), uploaded.load(), present.load()));
}

struct Moved {
  std::string tag;
  std::string previous;  // "" when the tag did not exist
};

using Clock = std::chrono::steady_clock;

// A tag read until the registry answers or the deadline passes (nullopt).
std::optional<std::string> read_tag(registry::Registry& registry, const std::string& repository, const std::string& tag,
                                    Clock::time_point deadline) {
  while (true) {
    try {
      return registry.head_manifest(repository, tag).value_or("");
    } catch (const Interrupted&) {
      throw;
    } catch (const Error&) {
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
}

// Sets the tags gate moved back to their previous digests, and says what each
// finally points at. A PUT that failed on gate's side (a timeout, a reset)
// may still land later, when a stalled registry resumes: so the tags are read
// back until the registry answers, then again until they read the same for
// a whole settle window, and whatever of ours landed meanwhile is set back
// again. (A write that lands later still than that window cannot be seen:
// the registry offers no way to know a request is still in flight.) What
// cannot be read before the budget ends is reported unknown, never unchanged.
std::vector<std::string> roll_back(registry::Registry& registry, const PublishRequest& request,
                                   const std::vector<Moved>& moved) {
  registry.set_interruptible(false);  // a rollback must finish, even after Ctrl-C
  const auto deadline = Clock::now() + request.rollback_budget;
  std::map<std::string, std::optional<std::string>> last;
  std::map<std::string, int> restores;  // tag -> times gate set it back
  std::map<std::string, std::string> restore_errors;
  auto stable_since = Clock::now();
  for (bool first = true;; first = false) {
    std::map<std::string, std::optional<std::string>> now;
    bool unknown = false, ours = false;
    for (const auto& m : moved) {
      now[m.tag] = read_tag(registry, request.target_repository, m.tag, deadline);
      unknown = unknown || !now[m.tag];
      if (now[m.tag] != request.digest || m.previous.empty()) continue;
      ours = true;
      try {
        auto previous = registry.get_manifest(request.target_repository, m.previous);
        if (!previous) throw InfraError("the previous manifest is gone");
        std::string stored = registry.put_manifest(request.target_repository, m.tag, *previous);
        if (stored != m.previous) throw InfraError(fmt::format("the registry stored '{}'", stored));
        ++restores[m.tag];
        restore_errors.erase(m.tag);
      } catch (const Error& e) {
        restore_errors[m.tag] = e.what();
      }
    }
    if (first || unknown || ours || now != last) stable_since = Clock::now();
    // Settled: the same answers, nothing of ours to undo, for a whole window.
    bool settled = !first && Clock::now() - stable_since >= request.settle_window;
    last = std::move(now);
    if (settled || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(request.settle);
  }
  std::vector<std::string> lines;
  for (auto it = moved.rbegin(); it != moved.rend(); ++it) {
    const auto& now = last[it->tag];
    const int times = restores[it->tag];
    if (!now) {
      lines.push_back(fmt::format(
          "{}: UNKNOWN: the registry did not answer within {}s; it may point at the tested {}", it->tag,
          std::chrono::duration_cast<std::chrono::seconds>(request.rollback_budget).count(), request.digest));
    } else if (*now == it->previous) {
      lines.push_back(times == 0 ? fmt::format("{}: unchanged at {}", it->tag, shown(it->previous))
                      : times == 1
                          ? fmt::format("{}: restored to {}", it->tag, it->previous)
                          : fmt::format("{}: restored to {} (the tested digest landed late; set back {} times)",
                                        it->tag, it->previous, times));
    } else if (*now == request.digest && it->previous.empty()) {
      // Distribution cannot delete a tag without deleting the manifest (and
      // every other tag of it): the new tag stays on the tested digest.
      lines.push_back(fmt::format("{}: was unset; left at the tested {} (the registry cannot remove a tag)", it->tag,
                                  request.digest));
    } else if (*now == request.digest) {
      lines.push_back(fmt::format(
          "{}: NOT restored to {} ({}); it points at the tested {}", it->tag, it->previous,
          restore_errors.count(it->tag) ? restore_errors[it->tag] : "it landed again at the end", request.digest));
    } else {
      lines.push_back(fmt::format("{}: now at {}, moved by someone else; left alone", it->tag, shown(*now)));
    }
  }
  registry.set_interruptible(true);
  return lines;
}

// One publish: every tag looked at at once, each moved once the tested
// manifest is ready, every failure collected and what moved rolled back
// together (all tags or none).
class Publication {
 public:
  Publication(registry::Registry& registry, const PublishRequest& request)
      : registry_(registry),
        request_(request),
        image_(fmt::format("{}/{}", registry.registry(), request.target_repository)),
        compare_and_swap_(!request.expect.empty()),
        manifest_ready_(manifest_promise_.get_future().share()) {}

  std::vector<report::PublishedTag> run() {
    auto tags = look_at_tags();
    ready_the_manifest(tags);
    try {
      std::vector<Moved> plan = collect(tags);
      if (compare_and_swap_) {
        check_expectations(plan);
        move_claiming_the_first(plan);
      }
      confirm_standing();
      sort_as_configured();
    } catch (const PublishConflict& e) {
      if (moved_.empty()) throw;
      // A conditional write refused after other tags moved: they go back.
      std::string account;
      for (const auto& line : roll_back(registry_, request_, moved_)) account += "\n  " + line;
      throw PublishConflict(
          fmt::format("{}\n  publish of {} abandoned, all tags or none:{}", e.what(), request_.digest, account));
    } catch (const Error& e) {
      abandon(e);
    }
    return published_;
  }

 private:
  // Every tag at once: look (HEAD: its previous digest, reported and
  // restored on failure). Without expectations nothing can conflict, so each
  // tag moves as soon as the manifest is ready; with them, every tag is
  // looked at before any moves, so a conflict moves nothing.
  std::vector<std::future<Moved>> look_at_tags() {
    std::vector<std::future<Moved>> tags;
    for (const auto& tag : request_.tags) {
      tags.push_back(std::async(std::launch::async, [this, tag] {
        Moved entry{tag, registry_.head_manifest(request_.target_repository, tag).value_or("")};
        if (!compare_and_swap_) move(entry);
        return entry;
      }));
    }
    return tags;
  }

  // The tested manifest, read once by digest (and, across repositories,
  // copied with its blobs) while the tags are looked at; a tag moves only
  // once it is ready.
  void ready_the_manifest(std::vector<std::future<Moved>>& tags) {
    try {
      auto manifest = registry_.get_manifest(request_.source_repository, request_.digest);
      if (!manifest) {
        throw InfraError(fmt::format("publish {}/{}@{}: the tested digest is not in the registry", registry_.registry(),
                                     request_.source_repository, request_.digest));
      }
      if (request_.target_repository != request_.source_repository) copy_content(registry_, request_, *manifest);
      manifest_promise_.set_value(std::move(*manifest));
    } catch (...) {
      // No tag moved: each waits for the manifest, and gets this error.
      manifest_promise_.set_exception(std::current_exception());
      for (auto& tag : tags) tag.wait();
      throw;
    }
  }

  // Every tag's look (and move), finished; the first failure rethrown after all.
  static std::vector<Moved> collect(std::vector<std::future<Moved>>& tags) {
    std::vector<Moved> plan;
    std::exception_ptr first_error;
    for (auto& tag : tags) {
      try {
        plan.push_back(tag.get());
      } catch (...) {
        if (!first_error) first_error = std::current_exception();
      }
    }
    if (first_error) std::rethrow_exception(first_error);
    return plan;
  }

  void check_expectations(const std::vector<Moved>& plan) const {
    for (const auto& [tag, current] : plan) {
      if (auto it = request_.expect.find(tag);
          it != request_.expect.end() && it->second != current && current != request_.digest) {
        throw PublishConflict(
            fmt::format("publish {}:{}: the tag points at {}, not at {} where the gate saw it before testing; "
                        "another release was published meanwhile, so this candidate is not published over it",
                        image_, tag, shown(current), shown(it->second)));
      }
    }
  }

  // The claim: another gate that passed its check at the same moment writes
  // the first tag too; after the settle window, the last writer's digest is
  // what both read back, and only that one goes on. Then the remaining tags
  // at once (every one finishes before an error is rethrown).
  void move_claiming_the_first(const std::vector<Moved>& plan) {
    size_t first_parallel = 0;
    if (!plan.empty() && plan[0].previous != request_.digest) {
      move(plan[0]);
      std::this_thread::sleep_for(request_.settle);
      std::string now = registry_.head_manifest(request_.target_repository, plan[0].tag).value_or("");
      if (now != request_.digest) {
        published_.clear();
        moved_.clear();  // our write was overwritten: nothing of ours to undo
        throw PublishConflict(
            fmt::format("publish {}:{}: another run published {} at the same moment and its claim stands; "
                        "this candidate is not published over it",
                        image_, plan[0].tag, shown(now)));
      }
      first_parallel = 1;
    }
    std::vector<Moved> rest(plan.begin() + static_cast<std::ptrdiff_t>(first_parallel), plan.end());
    for_each_concurrently(rest, rest.size(), [this](const Moved& entry) { move(entry); });
  }

  // Every tag read back once all have moved: a run whose tag another run
  // moved after it is overtaken, and says so, never that it published (the
  // registry has no conditional write to have prevented it; see publish.h).
  void confirm_standing() {
    for (const auto& entry : published_) {
      std::string now = registry_.head_manifest(request_.target_repository, entry.tag).value_or("");
      if (now != request_.digest) {
        std::string others;
        for (const auto& other : published_) {
          if (other.tag != entry.tag) others += (others.empty() ? "" : ", ") + other.tag;
        }
        published_.clear();
        moved_.clear();  // not undone: the tags may be the other run's by now
        throw PublishConflict(
            fmt::format("publish {}:{}: overtaken: another run moved the tag to {} after this one moved it to {}; this "
                        "candidate's publish does not stand{}",
                        image_, entry.tag, shown(now), request_.digest,
                        others.empty() ? "" : fmt::format(" (its other tags, {}, are left as they are)", others)));
      }
    }
  }

  void move(const Moved& entry) {
    const registry::Manifest& manifest = manifest_ready_.get();  // throws what reading it threw
    interrupt::throw_if_requested();
    if (entry.previous == request_.digest) {
      // Already where it must go (a publish run again): a PUT would change nothing.
      std::lock_guard lock(mutex_);
      published_.push_back({entry.tag, entry.previous, request_.digest});
      log::info(fmt::format("{}:{} already points at {}", image_, entry.tag, request_.digest));
      return;
    }
    {
      std::lock_guard lock(mutex_);
      moved_.push_back(entry);  // counted as moved before the PUT: a failed PUT may still have landed
    }
    std::string stored = write(entry, manifest);
    if (stored != request_.digest) {
      throw InfraError(fmt::format("publish {}:{}: the registry answered digest '{}', not the tested {}", image_,
                                   entry.tag, stored, request_.digest));
    }
    std::lock_guard lock(mutex_);
    published_.push_back({entry.tag, entry.previous, request_.digest});
    log::info(fmt::format("published {}:{} -> {} (was {})", image_, entry.tag, request_.digest, shown(entry.previous)));
  }

  // With compare-and-swap, the PUT is conditional on the tag still being
  // where this run looked (a registry that honours If-Match refuses it
  // otherwise; docker-registry writes anyway, and the claim and the check
  // after the moves remain).
  std::string write(const Moved& entry, const registry::Manifest& manifest) {
    if (!compare_and_swap_) return registry_.put_manifest(request_.target_repository, entry.tag, manifest);
    try {
      return registry_.put_manifest_if(request_.target_repository, entry.tag, manifest, entry.previous);
    } catch (const registry::PreconditionFailed&) {
      std::string now = registry_.head_manifest(request_.target_repository, entry.tag).value_or("");
      if (now == request_.digest) return now;  // an earlier attempt of this PUT landed before a retry
      {
        // Refused, so not written: nothing of this tag to set back.
        std::lock_guard lock(mutex_);
        moved_.erase(std::remove_if(moved_.begin(), moved_.end(), [&](const Moved& m) { return m.tag == entry.tag; }),
                     moved_.end());
      }
      throw PublishConflict(
          fmt::format("publish {}:{}: the registry refused the conditional write: the tag points at {}, not at {} "
                      "where this run looked; another run published meanwhile",
                      image_, entry.tag, shown(now), shown(entry.previous)));
    }
  }

  // Report in the order the tags were configured.
  void sort_as_configured() {
    auto index = [&](const std::string& tag) {
      return std::find(request_.tags.begin(), request_.tags.end(), tag) - request_.tags.begin();
    };
    std::sort(published_.begin(), published_.end(),
              [&](const auto& a, const auto& b) { return index(a.tag) < index(b.tag); });
  }

  // What moved goes back; the error says where every tag is now.
  [[noreturn]] void abandon(const Error& e) {
    if (moved_.empty()) throw;  // nothing was written: the error as it is
    auto lines = roll_back(registry_, request_, moved_);
    if (dynamic_cast<const Interrupted*>(&e)) {
      for (const auto& line : lines) log::warn("rollback: " + line);
      throw;
    }
    std::string account;
    for (const auto& line : lines) account += "\n  " + line;
    throw InfraError(
        fmt::format("{}\n  publish of {} abandoned, all tags or none:{}", e.what(), request_.digest, account));
  }

  registry::Registry& registry_;
  const PublishRequest& request_;
  const std::string image_;
  const bool compare_and_swap_;
  std::promise<registry::Manifest> manifest_promise_;
  std::shared_future<registry::Manifest> manifest_ready_;
  std::mutex mutex_;
  std::vector<Moved> moved_;
  std::vector<report::PublishedTag> published_;
};

}  // namespace

std::map<std::string, std::string> observe_tags(registry::Registry& registry, const std::string& repository,
                                                const std::vector<std::string>& tags) {
  // At once: each is a round trip to the registry, and a config may name several.
  std::vector<std::string> digests(tags.size());
  std::vector<size_t> order(tags.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for_each_concurrently(order, tags.size(),
                        [&](size_t i) { digests[i] = registry.head_manifest(repository, tags[i]).value_or(""); });
  std::map<std::string, std::string> seen;
  for (size_t i = 0; i < tags.size(); ++i) seen[tags[i]] = digests[i];
  return seen;
}

std::vector<report::PublishedTag> publish(registry::Registry& registry, const PublishRequest& request) {
  return Publication(registry, request).run();
}

}  // namespace gate::pipeline

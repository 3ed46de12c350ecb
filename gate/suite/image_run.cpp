#include "suite/image_run.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/duration.h"
#include "core/error.h"
#include "core/log.h"
#include "core/private_env.h"
#include "registry/digest.h"
#include "suite/coverage.h"

namespace gate::suite {

using Clock = std::chrono::steady_clock;

namespace {

// "host:5000/a/b@sha256:..." or "host:5000/a/b:tag" -> "host:5000/a/b"
std::string repository_of_ref(const std::string& ref) {
  std::string repository = ref.substr(0, ref.find('@'));
  auto colon = repository.rfind(':');
  auto slash = repository.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) repository.resize(colon);
  return repository;
}

}  // namespace

bool is_gate_secret(const std::string& name) {
  return name == "GATE_REGISTRY_USER" || name == "GATE_REGISTRY_PASSWORD" || core::is_private(name);
}

ImageRun::ImageRun(const config::Consumer& consumer, const ImageBinding& image, const RunContext& context,
                   const git::Checkout& checkout, std::filesystem::path log_file, bool watch_containers)
    : consumer_(consumer),
      image_(image),
      context_(context),
      worktree_(checkout.worktree),
      commit_(checkout.commit),
      log_file_(std::move(log_file)),
      where_(fmt::format("consumer '{}'", consumer.name)),
      env_(process::current_environment()),
      values_(image.placeholders),
      deadline_(Clock::now() + consumer.timeout) {
  // Containers of the images that exist before the phase are not its own
  // (another run's, or the user's): only new ones are cleaned up, once no
  // phase of a consumer run at once is running (suite/phase_guard.h).
  cleanup_refs_ = context.candidate.refs;
  if (context.baseline)
    cleanup_refs_.insert(cleanup_refs_.end(), context.baseline->refs.begin(), context.baseline->refs.end());
  // A phase that proves something by what is created meanwhile, or that
  // holds fixed host ports, runs alone.
  const bool fixed_ports = std::any_of(consumer.services.begin(), consumer.services.end(),
                                       [](const config::Service& s) { return !s.host_ports.empty(); });
  phase_ = std::make_unique<PhaseEntry>(watch_containers || fixed_ports, context.engine, cleanup_refs_);
  // The phase's containers: the subscription starts before anything of the
  // phase runs, so nothing it creates can be missed.
  if (watch_containers && context.engine)
    watch_ = std::make_unique<engine::ContainerWatch>(std::vector<std::string>{}, false);
  for (const auto& [name, value] : values_) env_["GATE_" + name] = value;
  // Coverage counters are the candidate's: the published image's are not
  // collected (its directory would mix two binaries' counters).
  if (image.role == "candidate" && context.config && context.config->coverage) {
    env_[context.config->coverage->env] = consumer_coverage_dir(context.report_dir, consumer.name).string();
  } else if (context.config && context.config->coverage) {
    env_.erase(context.config->coverage->env);
  }
  // Secrets of gate's own are for gate: the repository tokens (of every
  // consumer) are for the checkout only, the registry's credentials for the
  // registry only. A consumer that needs one gets it by name in its `env`.
  if (!consumer.token_env.empty()) env_.erase(consumer.token_env);
  for (auto it = env_.begin(); it != env_.end();) it = is_gate_secret(it->first) ? env_.erase(it) : std::next(it);
}

ImageRun::~ImageRun() {
  if (finished_) return;
  try {
    std::vector<std::string> ignored;
    finish(&ignored);
  } catch (const std::exception& e) {
    log::warn(fmt::format("{}: cleaning up the {} run: {}", consumer_.name, image_.role, e.what()));
  }
}

void ImageRun::start_services() {
  if (!consumer_.services.empty()) {
    if (!context_.engine) throw InfraError(where_ + ": services need the container engine");
    services_.emplace(*context_.engine);
    if (image_.role == "candidate" && context_.config && context_.config->coverage) {
      services_->share_directory(consumer_coverage_dir(context_.report_dir, consumer_.name).string(),
                                 context_.config->coverage->env);
    }
    services_->start(consumer_, values_, env_, consumer_.name + "." + image_.role);
  }
  // The consumer's own variables, now that every placeholder is known.
  for (const auto& [name, tmpl] : consumer_.env) env_[name] = config::expand(tmpl, values_, where_);
}

std::vector<std::string> ImageRun::argv_of(const config::Command& command) const {
  std::vector<std::string> argv;
  for (const auto& part : command.argv) argv.push_back(config::expand(part, values_, where_));
  if (command.shell) return {"/bin/sh", "-c", argv.front()};
  return argv;
}

process::Result ImageRun::run_command(const config::Command& command, const char* step) {
  process::Spec spec;
  spec.argv = argv_of(command);
  spec.cwd = worktree_;
  spec.env = env_;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
  spec.timeout = std::max(left, std::chrono::milliseconds(1));
  spec.log_file = log_file_;
  const std::string label = image_.role == "candidate" ? consumer_.name : consumer_.name + " [baseline]";
  spec.on_line = [label](std::string_view line) { log::child_line(label, line); };
  log::info(fmt::format("{}: {} {}", label, step, log::redact(fmt::format("{}", fmt::join(spec.argv, " ")))));
  return process::run(spec);
}

ImageRun::SetupOutcome ImageRun::setup() {
  SetupOutcome out;
  // The setup cache, keyed by what setup really runs: the commit and the
  // expanded commands (a command naming the candidate is another command
  // for another image).
  std::filesystem::path archive;
  if (!consumer_.cache_paths.empty() && !context_.cache_dir.empty()) {
    std::string key = commit_ + "\n" + consumer_.cache_key;
    for (const auto& command : consumer_.setup) {
      for (const auto& part : argv_of(command)) key += "\n" + part;
    }
    for (const auto& path : consumer_.cache_paths) key += "\n" + path;
    archive = context_.cache_dir / "setup" / consumer_.name / (registry::sha256_digest(key).substr(7, 20) + ".tar");
    if (std::filesystem::exists(archive)) {
      auto restored =
          process::capture({"tar", "-xf", archive.string(), "-C", worktree_.string()}, std::chrono::minutes(10));
      if (restored.ok()) {
        out.cache = "hit";
        log::info(fmt::format("{}: setup restored from the cache ({})", consumer_.name, archive.filename().string()));
        return out;
      }
      log::warn(fmt::format("{}: could not restore the setup cache ({}); running setup", consumer_.name,
                            restored.describe()));
    }
  }
  for (const auto& command : consumer_.setup) {
    process::Result step = run_command(command, "setup");
    out.output_tail = step.output;
    if (step.interrupted) {
      out.ok = false;
      out.interrupted = true;
      return out;
    }
    if (!step.ok()) {
      out.ok = false;
      out.status = step.timed_out ? report::ConsumerStatus::timed_out : report::ConsumerStatus::setup_failed;
      out.reason = step.timed_out
                       ? fmt::format("setup killed at the consumer timeout ({})", format_duration(consumer_.timeout))
                       : fmt::format("setup failed ({})", step.describe());
      return out;
    }
  }
  if (!archive.empty()) {
    std::vector<std::string> argv{"tar", "-cf", archive.string() + ".tmp", "-C", worktree_.string()};
    for (const auto& path : consumer_.cache_paths) {
      if (std::filesystem::exists(worktree_ / path)) argv.push_back(path);
    }
    std::error_code ec;
    std::filesystem::create_directories(archive.parent_path(), ec);
    if (argv.size() > 5 && process::capture(argv, std::chrono::minutes(10)).ok()) {
      std::filesystem::rename(archive.string() + ".tmp", archive, ec);
      out.cache = "stored";
    }
  }
  return out;
}

RunEnv ImageRun::run_env() const {
  RunEnv env;
  env.command = argv_of(consumer_.run);
  env.worktree = worktree_;
  env.env = env_;
  env.log_file = log_file_;
  const std::string label = image_.role == "candidate" ? consumer_.name : consumer_.name + " [baseline]";
  env.on_line = [label](std::string_view line) { log::child_line(label, line); };
  // Absolute, outside the checkout: the tools run in the worktree.
  env.scratch = context_.report_dir / "batches" / consumer_.name / image_.role;
  env.deadline = deadline_;
  env.commit = commit_;
  if (!context_.cache_dir.empty()) env.listing_cache = context_.cache_dir / "listings" / consumer_.name;
  env.on_started = context_.on_tests_started;
  return env;
}

report::ImagePhase ImageRun::finish(std::vector<std::string>* removed) {
  finished_ = true;
  report::ImagePhase phase;
  phase.role = image_.role;
  phase.digest = image_.digest;
  if (services_) {
    services_->stop_all();
    phase.services = services_->runs();
  }
  if (watch_) {
    created_ = watch_->created(std::chrono::milliseconds(150));
    // The report lists the containers of the two images' repositories (the
    // engine may be running other people's containers meanwhile); the proof
    // looks at all of them.
    for (const auto& e : created_) {
      bool ours = std::any_of(cleanup_refs_.begin(), cleanup_refs_.end(), [&](const std::string& ref) {
        std::string repository = repository_of_ref(ref);
        return e.image.rfind(repository, 0) == 0 &&
               (e.image.size() == repository.size() || e.image[repository.size()] == ':' ||
                e.image[repository.size()] == '@');
      });
      if (ours) phase.containers_created.push_back(e.id.substr(0, 12) + " " + e.image);
    }
  }
  // Whatever happened, no container the consumer started from either image
  // outlives the phase (or, with consumers run at once, the last of them).
  if (phase_) {
    auto left = phase_->leave();
    removed->insert(removed->end(), left.begin(), left.end());
    if (!left.empty()) {
      log::info(fmt::format("{}: removed {} container(s) the {} run left from the images", consumer_.name, left.size(),
                            image_.role));
    }
  }
  return phase;
}

}  // namespace gate::suite

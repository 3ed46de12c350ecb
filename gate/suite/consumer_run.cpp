#include "suite/consumer_run.h"

#include <glob.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/duration.h"
#include "core/error.h"
#include "core/log.h"
#include "process/runner.h"
#include "registry/digest.h"
#include "report/junit.h"
#include "suite/coverage.h"
#include "suite/runner.h"
#include "suite/services.h"
#include "suite/suite_run.h"

namespace gate::suite {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::filesystem::path> glob_files(const std::filesystem::path& base, const std::string& pattern) {
  std::string full = (base / pattern).string();
  glob_t matches{};
  std::vector<std::filesystem::path> out;
  if (::glob(full.c_str(), 0, nullptr, &matches) == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) out.emplace_back(matches.gl_pathv[i]);
  }
  ::globfree(&matches);
  return out;
}

std::vector<std::string> argv_of(const config::Command& command, const config::Values& values,
                                 const std::string& where) {
  std::vector<std::string> argv;
  for (const auto& part : command.argv) argv.push_back(config::expand(part, values, where));
  if (command.shell) return {"/bin/sh", "-c", argv.front()};
  return argv;
}

// The first line of a message, bounded: reasons are one line each.
std::string shorten(const std::string& text, size_t max) {
  std::string line = text.substr(0, text.find('\n'));
  return line.size() <= max ? line : line.substr(0, max) + "...";
}

}  // namespace

Judgement judge(int exit_code, bool junit_configured, const std::vector<report::TestCase>& tests) {
  Judgement j{report::ConsumerStatus::passed, {}};
  size_t executed = 0;
  for (const auto& test : tests) {
    if (test.status == report::TestStatus::skipped) continue;
    ++executed;
    bool failing = test.outcome.empty()
                       ? (test.status == report::TestStatus::failed || test.status == report::TestStatus::error)
                       : test.blocks;
    if (failing) {
      std::string message = test.message.empty() ? std::string(report::test_status_name(test.status)) : test.message;
      j.reasons.push_back(fmt::format("test {} {}: {}", test.id(),
                                      test.status == report::TestStatus::failed ? "failed" : "errored",
                                      shorten(message, 200)));
    }
  }
  if (!j.reasons.empty()) j.status = report::ConsumerStatus::failed;
  if (exit_code != 0) {
    j.status = report::ConsumerStatus::failed;
    if (j.reasons.empty()) {
      j.reasons.push_back(junit_configured
                              ? fmt::format("run exited {} although its JUnit report shows no failed test", exit_code)
                              : fmt::format("run exited {}", exit_code));
    }
  }
  if (junit_configured && executed == 0) {
    j.status = report::ConsumerStatus::failed;
    j.reasons.push_back("no test executed: a run that tests nothing never passes");
  }
  return j;
}

report::ConsumerResult run_consumer(const config::Consumer& consumer, const git::Checkout& checkout,
                                    const RunContext& context) {
  report::ConsumerResult result;
  result.name = consumer.name;
  result.repo = log::redact(consumer.repo);
  result.ref = consumer.ref;
  result.commit = checkout.commit;
  for (const auto& sub : checkout.submodules) {
    result.submodules.push_back(fmt::format("{} {} {}", sub.path, sub.commit, log::redact(sub.url)));
  }
  result.log_file = fmt::format("logs/{}.log", consumer.name);
  const std::filesystem::path log_path = context.report_dir / result.log_file;
  std::error_code ec;
  std::filesystem::remove(log_path, ec);

  const std::string where = fmt::format("consumer '{}'", consumer.name);
  process::Environment env = process::current_environment();
  config::Values placeholders = context.placeholders;
  for (const auto& [name, value] : placeholders) env["GATE_" + name] = value;
  // Coverage counters of the candidate: a directory of this consumer's, in
  // its environment and in its services'.
  std::string coverage_dir;
  if (context.config && context.config->coverage) {
    coverage_dir = consumer_coverage_dir(context.report_dir, consumer.name).string();
    env[context.config->coverage->env] = coverage_dir;
  }
  // Services first: their addresses are placeholders for env, setup and run.
  std::optional<Services> services;
  if (!consumer.services.empty()) {
    if (!context.engine) throw InfraError(where + ": services need the container engine");
    services.emplace(*context.engine);
    if (!coverage_dir.empty()) services->share_directory(coverage_dir, context.config->coverage->env);
    try {
      services->start(consumer, placeholders, env, consumer.name);
    } catch (const Interrupted&) {
      throw;
    } catch (const InfraError& e) {
      result.status = report::ConsumerStatus::error;
      result.reasons.push_back(e.what());
      log::error(e.what());
      return result;
    }
  }
  for (const auto& [name, tmpl] : consumer.env) env[name] = config::expand(tmpl, placeholders, where);
  // The repository token is for the checkout only, never for the consumer's code.
  if (!consumer.token_env.empty()) env.erase(consumer.token_env);

  // Containers of the candidate that exist before the consumer runs are not
  // its own (another run, or the user's): only new ones are cleaned up.
  auto candidate_containers = [&] { return context.engine->containers_from(context.candidate_refs); };
  const std::vector<std::string> containers_before =
      context.engine ? candidate_containers() : std::vector<std::string>{};

  const auto started = Clock::now();
  const auto deadline = started + consumer.timeout;
  bool interrupted = false;

  auto run_step = [&](const config::Command& command, const char* step) -> process::Result {
    process::Spec spec;
    spec.argv = argv_of(command, placeholders, where);
    spec.cwd = checkout.worktree;
    spec.env = env;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    spec.timeout = std::max(left, std::chrono::milliseconds(1));
    spec.log_file = log_path;
    spec.on_line = [&](std::string_view line) { log::child_line(consumer.name, line); };
    log::info(fmt::format("{}: {} {}", consumer.name, step, log::redact(fmt::format("{}", fmt::join(spec.argv, " ")))));
    return process::run(spec);
  };

  // The setup cache: restore what a previous setup of the same commit and
  // commands made, instead of running it again.
  std::filesystem::path setup_archive;
  bool setup_restored = false;
  if (!consumer.cache_paths.empty() && !context.cache_dir.empty()) {
    std::string key = checkout.commit + "\n" + consumer.cache_key;
    for (const auto& command : consumer.setup) {
      for (const auto& part : command.argv) key += "\n" + part.text;
    }
    for (const auto& path : consumer.cache_paths) key += "\n" + path;
    setup_archive = context.cache_dir / "setup" / consumer.name / (registry::sha256_digest(key).substr(7, 20) + ".tar");
    if (std::filesystem::exists(setup_archive)) {
      auto restored = process::capture({"tar", "-xf", setup_archive.string(), "-C", checkout.worktree.string()},
                                       std::chrono::minutes(10));
      if (restored.ok()) {
        setup_restored = true;
        result.setup_cache = "hit";
        log::info(fmt::format("{}: setup restored from the cache ({})", consumer.name, setup_archive.filename().string()));
      } else {
        log::warn(fmt::format("{}: could not restore the setup cache ({}); running setup", consumer.name, restored.describe()));
      }
    }
  }
  try {
    for (const auto& command : setup_restored ? std::vector<config::Command>{} : consumer.setup) {
      process::Result setup = run_step(command, "setup");
      result.output_tail = setup.output;
      if (setup.interrupted) {
        interrupted = true;
        break;
      }
      if (!setup.ok()) {
        result.status = setup.timed_out ? report::ConsumerStatus::timed_out : report::ConsumerStatus::setup_failed;
        result.process_status = setup.describe();
        result.reasons.push_back(setup.timed_out
                                     ? fmt::format("setup killed at the consumer timeout ({})", format_duration(consumer.timeout))
                                     : fmt::format("setup failed ({})", setup.describe()));
        break;
      }
    }
    if (!interrupted && result.reasons.empty() && !setup_archive.empty() && !setup_restored) {
      std::vector<std::string> argv{"tar", "-cf", setup_archive.string() + ".tmp", "-C", checkout.worktree.string()};
      for (const auto& path : consumer.cache_paths) {
        if (std::filesystem::exists(checkout.worktree / path)) argv.push_back(path);
      }
      std::error_code ec;
      std::filesystem::create_directories(setup_archive.parent_path(), ec);
      if (argv.size() > 5 && process::capture(argv, std::chrono::minutes(10)).ok()) {
        std::filesystem::rename(setup_archive.string() + ".tmp", setup_archive, ec);
        result.setup_cache = "stored";
      }
    }
    if (!interrupted && result.reasons.empty() && consumer.runner != "command") {
      auto runner = make_runner(consumer);
      RunEnv run_env;
      run_env.command = argv_of(consumer.run, placeholders, where);
      run_env.worktree = checkout.worktree;
      run_env.env = env;
      run_env.log_file = log_path;
      run_env.on_line = [&](std::string_view line) { log::child_line(consumer.name, line); };
      run_env.scratch = context.report_dir / "batches" / consumer.name;
      run_env.deadline = deadline;
      try {
        run_suite(consumer, *runner, run_env, context, result);
      } catch (const Interrupted&) {
        interrupted = true;
      }
    } else if (!interrupted && result.reasons.empty()) {
      process::Result run = run_step(consumer.run, "run");
      result.output_tail = run.output;
      result.process_status = run.describe();
      result.exit_code = run.signal == 0 ? run.exit_code : 128 + run.signal;
      if (run.interrupted) {
        interrupted = true;
      } else if (run.timed_out) {
        result.status = report::ConsumerStatus::timed_out;
        result.reasons.push_back(
            fmt::format("killed at the consumer timeout ({}) with its process group", format_duration(consumer.timeout)));
      } else {
        if (consumer.junit) {
          auto files = glob_files(checkout.worktree, *consumer.junit);
          if (files.empty()) {
            result.reasons.push_back(fmt::format("no JUnit report matched '{}'", *consumer.junit));
          }
          for (const auto& file : files) {
            try {
              auto tests = report::parse_junit_file(file);
              result.tests.insert(result.tests.end(), tests.begin(), tests.end());
            } catch (const InfraError& e) {
              result.reasons.push_back(e.what());
            }
          }
        }
        for (auto& test : result.tests) {
          test.outcome = classify(test.status, false, false, std::nullopt);
          test.blocks = config::policy_blocks(context.config ? *context.config : config::Config{}, consumer, test.outcome);
        }
        Judgement judgement = judge(result.exit_code, consumer.junit.has_value(), result.tests);
        result.status = judgement.status;
        if (!result.reasons.empty()) result.status = report::ConsumerStatus::failed;
        result.reasons.insert(result.reasons.end(), judgement.reasons.begin(), judgement.reasons.end());
      }
    }
  } catch (const UsageError&) {
    throw;
  } catch (const InfraError& e) {
    result.status = report::ConsumerStatus::error;
    result.reasons.push_back(e.what());
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();

  if (services) services->stop_all();
  // Whatever happened, no container the consumer started from the candidate outlives the run.
  if (context.engine) {
    for (const auto& id : candidate_containers()) {
      if (std::find(containers_before.begin(), containers_before.end(), id) == containers_before.end()) {
        result.containers_removed.push_back(id);
      }
    }
    context.engine->remove_containers(result.containers_removed);
    if (!result.containers_removed.empty()) {
      log::info(fmt::format("{}: removed {} container(s) it left from the candidate image", consumer.name,
                            result.containers_removed.size()));
    }
  }
  if (interrupted) throw Interrupted();
  log::info(fmt::format("{}: {} in {:.1f}s{}", consumer.name, report::consumer_status_name(result.status),
                        result.seconds, result.reasons.empty() ? "" : " - " + result.reasons.front()));
  return result;
}

}  // namespace gate::suite

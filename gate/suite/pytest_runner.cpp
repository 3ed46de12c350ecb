// runner: pytest, through gate's own plugin (suite/pytest_plugin/gate_pytest.py,
// loaded with -p from a directory gate puts on PYTHONPATH). The tests are
// listed once (and the listing kept in the cache, see ListingCache); a
// batch is one pytest process told its tests in a file, collecting only
// their files where it can; its results, and its progress as it happens,
// come from the plugin's events, never from pytest's text or a JUnit file.
// Every batch reports the digest of what it collected: a listing that
// does not match what pytest collects is said so (listing_contradicted),
// and the suite engine lists the tests again.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "suite/pytest_protocol.h"
#include "suite/runner.h"
#include "suite/tool_output.h"

namespace gate::suite {
namespace {

// Reads the lines a process appends to a file as they arrive (complete
// lines only; the file may not exist yet).
class EventFile {
 public:
  explicit EventFile(std::filesystem::path path) : path_(std::move(path)) {}
  template <typename F>
  void read_new(F&& on_event) {
    if (!in_.is_open()) {
      in_.open(path_, std::ios::binary);
      if (!in_.is_open()) return;
    }
    in_.clear();
    char buffer[64 * 1024];
    while (in_.read(buffer, sizeof buffer) || in_.gcount() > 0) {
      pending_.append(buffer, static_cast<size_t>(in_.gcount()));
      if (in_.eof()) break;
    }
    size_t start = 0;
    for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (auto event = parse_pytest_event(std::string_view(pending_).substr(start, nl - start))) on_event(*event);
    }
    pending_.erase(0, start);
  }

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  std::string pending_;
};

// What one batch's events said.
struct BatchEvents {
  std::unordered_map<std::string, report::TestCase> finished;
  std::string running;  // started, not finished
  std::optional<std::string> collected_digest;
  std::vector<std::string> missing;
  std::vector<std::string> collect_errors;

  void take(PytestEvent& e, ProgressWatch& watch) {
    switch (e.kind) {
      case PytestEvent::Kind::start: running = e.id; break;
      case PytestEvent::Kind::finish: {
        report::TestCase test{"", e.id, e.status, e.seconds, std::move(e.message), std::move(e.details)};
        if (running == e.id) running.clear();
        finished.insert_or_assign(std::move(e.id), std::move(test));
        watch.progressed();
        break;
      }
      case PytestEvent::Kind::collected: collected_digest = e.sha256; break;
      case PytestEvent::Kind::selected: missing = std::move(e.missing); break;
      case PytestEvent::Kind::collect_error:
        collect_errors.push_back(fmt::format("{}: {}", e.id.empty() ? "(session)" : e.id, e.message));
        break;
    }
  }
};

class PytestRunner : public Runner {
 public:
  explicit PytestRunner(std::vector<std::string> selection) : selection_(std::move(selection)) {}

  std::vector<std::string> enumerate(const RunEnv& env) override {
    const ListingCache cache(env.listing_cache, tool_spec(env, {}), env.commit, selection_);
    if (!fresh_listing_) {
      if (auto kept = cache.load()) {
        std::lock_guard lock(mutex_);
        listing_ = std::move(*kept);
        listing_cached_ = true;
        return listing_.ids();
      }
    }
    auto listing = collect(env);
    cache.store(listing);
    std::lock_guard lock(mutex_);
    listing_ = std::move(listing);
    listing_cached_ = false;
    return listing_.ids();
  }

  std::string listing_contradicted() override {
    std::lock_guard lock(mutex_);
    std::string why = std::move(contradiction_);
    contradiction_.clear();
    if (!why.empty()) {
      // The next listing is collected afresh, and batches collect the whole
      // selection: the cache or the narrowing was what went wrong, or the
      // collection is not the same twice (then the next pass says so).
      if (listing_cached_) why += " (the listing came from the cache)";
      fresh_listing_ = true;
      narrow_ = false;
    }
    return why;
  }

  BatchResult run_batch(const RunEnv& env, const TestNames& tests, std::chrono::milliseconds test_timeout,
                        const std::string& batch_name) override {
    const auto select = env.scratch / (batch_name + ".select");
    const auto events_path = env.scratch / (batch_name + ".events");
    const auto collected_path = env.scratch / (batch_name + ".collected");
    std::string text;
    for (auto t : tests) {
      text += t;
      text += '\n';
    }
    // (Batches run on worker threads: a failure here is the batch's error, never an exception.)
    std::error_code ec;
    std::filesystem::create_directories(env.scratch, ec);
    std::filesystem::remove(events_path, ec);
    std::filesystem::remove(collected_path, ec);
    {
      std::ofstream out(select, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out) return BatchResult{{}, {}, fmt::format("cannot write {}", select.string()), false};
    }
    std::vector<std::string> args;
    try {
      args = protocol_args(env, "-q");
    } catch (const InfraError& e) {
      return BatchResult{{}, {}, e.what(), false};
    }
    args.push_back("--gate-select=" + select.string());
    args.push_back("--gate-events=" + events_path.string());
    args.push_back("--gate-collect=" + collected_path.string());
    const BatchCollection collection = batch_arguments(env, tests, batch_name, args);
    if (!collection.digest.empty()) args.push_back("--gate-expect=" + collection.digest);
    process::Spec spec = tool_spec(env, args);
    with_plugin_path(env, spec);
    // (Not PYTHONUNBUFFERED: progress comes from the events file; unbuffered,
    // pytest -q writes each test's dot to gate's pipe on its own, a wakeup
    // of gate per test.)

    BatchEvents seen;
    EventFile events(events_path);
    ProgressWatch watch;
    auto read_events = [&] { events.read_new([&](PytestEvent& e) { seen.take(e, watch); }); };
    spec.on_line = env.on_line;
    spec.should_stop = [&] {
      read_events();
      return watch.expired(test_timeout);
    };
    spec.grace = std::chrono::seconds(2);
    spec.timeout = time_left(env);
    auto result = process::run(spec);
    read_events();
    if (!collection.digest.empty() && seen.collected_digest && *seen.collected_digest != collection.digest) {
      note_contradiction(batch_name, collected_path, collection.files, env.worktree);
    }
    return assemble(tests, result, seen, test_timeout);
  }

 private:
  // A batch's results in its order: tests that finished; the one running
  // when the batch was stopped or died (timed out, or an error naming how
  // the process ended); the rest to run again, as long as this batch
  // settled at least one test (so a batch that cannot run any ends).
  BatchResult assemble(const TestNames& tests, const process::Result& result, BatchEvents& seen,
                       std::chrono::milliseconds test_timeout) const {
    BatchResult out;
    if (result.interrupted) {
      out.interrupted = true;
      return out;
    }
    const std::unordered_set<std::string_view> missing(seen.missing.begin(), seen.missing.end());
    std::string hung = seen.running;
    if (result.stopped && hung.empty()) {  // stopped between two tests: the next one hung
      for (auto t : tests) {
        if (!seen.finished.count(std::string(t)) && !missing.count(t)) {
          hung = t;
          break;
        }
      }
    }
    std::vector<std::string> unfinished;
    for (auto t : tests) {
      const std::string id(t);
      if (auto it = seen.finished.find(id); it != seen.finished.end()) {
        out.tests.push_back(std::move(it->second));
      } else if (missing.count(t)) {
        continue;
      } else if (id == hung && result.stopped) {
        out.tests.push_back(timed_out_test("pytest", id, test_timeout));
      } else if (id == hung && !result.timed_out && !result.ok()) {
        // The process ended under a test (a crash, os._exit, a signal): that
        // test's doing, and not something to run again and again.
        out.tests.push_back({"", id, report::TestStatus::error, 0,
                             fmt::format("the test process ended while this test ran ({})", result.describe()),
                             result.output_end(2000)});
      } else {
        unfinished.push_back(id);
      }
    }
    if (result.timed_out) {
      out.error = "stopped at the consumer's timeout";
      return out;
    }
    if (!seen.missing.empty()) {
      out.error =
          fmt::format("{} test(s) of the batch were not collected, e.g. {}", seen.missing.size(), seen.missing.front());
    }
    if (!seen.collect_errors.empty()) {
      out.error = fmt::format("pytest could not collect {}", seen.collect_errors.front());
    } else if (result.signal == 0 && result.exit_code == 5 && out.tests.empty()) {
      out.error = "pytest collected no test (exit 5)";
    }
    if (out.tests.empty()) {
      if (out.error.empty()) {
        out.error = fmt::format("pytest {} without running any test: {}", result.describe(), result.output_end(400));
      }
      return out;  // nothing settled: running the rest again would be the same
    }
    // (A process that died under a test made that test the error.)
    const bool died_under_a_test = !hung.empty() && !result.ok();
    if (out.error.empty() && unfinished.empty() && !died_under_a_test) {
      out.error = exit_contradiction("pytest", result, out.tests, 1);
    }
    out.not_run = std::move(unfinished);
    return out;
  }

  // The arguments every plugin run starts with.
  std::vector<std::string> protocol_args(const RunEnv& env, const char* quiet) {
    install_pytest_plugin(plugin_dir(env));
    return {quiet, "-p", "no:cacheprovider", "-p", kPytestLoader};
  }

  static std::filesystem::path plugin_dir(const RunEnv& env) { return env.scratch / "gate-pytest"; }

  static void with_plugin_path(const RunEnv& env, process::Spec& spec) {
    if (!spec.env) spec.env = process::current_environment();
    auto& path = (*spec.env)["PYTHONPATH"];
    path = path.empty() ? plugin_dir(env).string() : plugin_dir(env).string() + ":" + path;
  }

  // What a batch collects: its own files (none: the whole selection), and
  // the digest that collection should have ("": no listing to check by).
  struct BatchCollection {
    std::vector<std::string> files;
    std::string digest;
  };

  // Adds what the batch collects to `args`: the whole selection, pruned to
  // its tests' files (--gate-files) when the listing knows them, so that the
  // consumer's own rules decide what is collected there as in a whole run.
  BatchCollection batch_arguments(const RunEnv& env, const TestNames& tests, const std::string& batch_name,
                                  std::vector<std::string>& args) {
    args.insert(args.end(), selection_.begin(), selection_.end());
    std::lock_guard lock(mutex_);
    if (listing_.empty()) return {};
    if (narrow_) {
      if (auto narrowed = listing_.narrowed(tests, env.worktree)) {
        const auto files = env.scratch / (batch_name + ".files");
        std::string text;
        for (const auto& f : narrowed->files) text += f + '\n';
        std::ofstream out(files, std::ios::binary | std::ios::trunc);
        out << text;
        if (out) {
          args.push_back("--gate-files=" + files.string());
          return {std::move(narrowed->files), std::move(narrowed->digest)};
        }
      }
    }
    return {{}, listing_.digest()};
  }

  // pytest --collect-only through the plugin: the ids in a file, not parsed
  // out of text that a test module's own prints could add to.
  PytestListing collect(const RunEnv& env) {
    std::error_code ec;
    std::filesystem::create_directories(env.scratch, ec);
    const auto list_file = env.scratch / "listing.txt";
    const auto events_path = env.scratch / "listing.events";
    std::filesystem::remove(list_file, ec);
    std::filesystem::remove(events_path, ec);
    std::vector<std::string> args = protocol_args(env, "-qq");
    args.insert(args.end(),
                {"--collect-only", "--gate-collect=" + list_file.string(), "--gate-events=" + events_path.string()});
    args.insert(args.end(), selection_.begin(), selection_.end());
    process::Spec spec = tool_spec(env, args);
    with_plugin_path(env, spec);
    spec.timeout = std::chrono::minutes(5);
    auto result = process::run(spec);
    if (result.interrupted) throw Interrupted();
    BatchEvents seen;
    ProgressWatch unused;
    EventFile(events_path).read_new([&](PytestEvent& e) { seen.take(e, unused); });
    // pytest's exit 5: nothing collected. Never a green run: the caller says so.
    if (result.signal == 0 && result.exit_code == 5) return {};
    if (!result.ok() || !seen.collected_digest) {
      std::string why = !seen.collect_errors.empty() ? "could not collect " + seen.collect_errors.front()
                        : !seen.collected_digest
                            ? "gate's plugin did not report (is pytest run where PYTHONPATH reaches, with -p allowed?)"
                            : result.output_end(600);
      throw InfraError(fmt::format("pytest --collect-only failed ({}): {}", result.describe(), why));
    }
    std::vector<std::string> ids;
    std::ifstream in(list_file, std::ios::binary);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) ids.push_back(std::move(line));
    }
    return PytestListing(std::move(ids), rootdir_of(events_path, env.worktree));
  }

  // pytest's rootdir as the plugin reported it, relative to the worktree.
  static std::string rootdir_of(const std::filesystem::path& events_path, const std::filesystem::path& worktree) {
    std::string rootdir;
    std::ifstream in(events_path, std::ios::binary);
    for (std::string line; std::getline(in, line);) {
      auto event = nlohmann::json::parse(line, nullptr, false);
      if (event.is_object() && event.value("event", "") == "collected" && event.contains("rootdir") &&
          event["rootdir"].is_string()) {
        rootdir = event["rootdir"].get<std::string>();
      }
    }
    std::error_code ec;
    auto relative = std::filesystem::relative(rootdir, std::filesystem::canonical(worktree, ec), ec);
    if (rootdir.empty() || ec || relative.string() == ".") return "";
    return relative.string();
  }

  // A batch collected other tests than the listing said: why, with the
  // first test that differs.
  void note_contradiction(const std::string& batch_name, const std::filesystem::path& collected_path,
                          const std::vector<std::string>& files, const std::filesystem::path& worktree) {
    std::unordered_set<std::string> collected;
    std::ifstream in(collected_path, std::ios::binary);
    for (std::string line; std::getline(in, line);) collected.insert(line);
    std::lock_guard lock(mutex_);
    std::string example;
    for (auto id : listing_.ids_of_files(files, worktree)) {
      if (collected.erase(std::string(id)) == 0 && example.empty())
        example = "listed, not collected: " + std::string(id);
    }
    if (example.empty() && !collected.empty()) example = "collected, not listed: " + *collected.begin();
    if (example.empty()) example = "the same tests, in another order";
    if (contradiction_.empty()) {
      contradiction_ = fmt::format("batch {} collected other tests than were listed ({})", batch_name, example);
    }
  }

  std::vector<std::string> selection_;
  std::mutex mutex_;  // batches run on several workers
  PytestListing listing_;
  bool listing_cached_ = false;
  bool fresh_listing_ = false;
  bool narrow_ = true;
  std::string contradiction_;
};

}  // namespace

std::unique_ptr<Runner> make_pytest_runner(std::vector<std::string> selection) {
  return std::make_unique<PytestRunner>(std::move(selection));
}

}  // namespace gate::suite

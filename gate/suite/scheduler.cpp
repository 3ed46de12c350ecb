#include "suite/scheduler.h"

#include <fmt/format.h>

#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "core/events.h"
#include "core/interrupt.h"

namespace gate::suite {

// A pytest process costs about 0.25 s to start: a batch of at least 2.5 s of
// estimated work keeps that under a tenth.
constexpr double kMinBatchSeconds = 2.5;

ScheduleResult run_items(Runner& runner, const RunEnv& env, const std::vector<std::string>& names,
                         std::vector<WorkItem> items, size_t workers, std::chrono::milliseconds test_timeout,
                         const std::string& phase) {
  if (workers == 0) workers = 1;
  workers = std::min(workers, std::max<size_t>(items.size(), 1));
  std::vector<std::deque<WorkItem>> queues(workers);
  auto shares = balance(std::move(items), workers);
  for (size_t w = 0; w < workers; ++w) {
    queues[w].assign(std::make_move_iterator(shares[w].begin()), std::make_move_iterator(shares[w].end()));
    std::vector<WorkItem>().swap(shares[w]);
  }

  std::mutex mutex;
  ScheduleResult result;
  bool interrupted = false;
  size_t batch_counter = 0;

  result.workers.resize(workers);
  for (size_t w = 0; w < workers; ++w) result.workers[w].worker = w + 1;
  const auto started = std::chrono::steady_clock::now();
  // Guessed prices (nothing known of the consumer) are corrected by what
  // the batches that ran them took: the seconds they took beyond their
  // known tests, over the guessed estimate they held. A cold run of trivial
  // tests then sees, after its first batches, that the rest is a batch
  // each, instead of halving down to tests priced a second apiece.
  double guessed_scale = 1, guessed_ran = 0, guessed_took = 0;
  auto cost = [&](const WorkItem& item) { return item.guessed ? item.estimate * guessed_scale : item.estimate; };
  auto remaining = [&](size_t w) {
    double total = 0;
    for (const auto& item : queues[w]) total += cost(item);
    return total;
  };

  auto work = [&](size_t me) {
    while (true) {
      TestNames tests;
      std::vector<uint32_t> positions;  // of `tests` in names
      std::string batch_name;
      double known_estimate = 0, guessed_estimate = 0;
      {
        std::lock_guard lock(mutex);
        if (interrupted) return;
        if (std::chrono::steady_clock::now() >= env.deadline) return;  // the consumer's timeout
        if (queues[me].empty()) {
          // Steal: half (rounded up) of the largest remaining share, from its back.
          size_t victim = me;
          double most = 0;
          for (size_t w = 0; w < workers; ++w) {
            double left = remaining(w);
            if (w != me && !queues[w].empty() && left > most) {
              most = left;
              victim = w;
            }
          }
          if (victim == me) return;  // nothing left anywhere
          size_t take = (queues[victim].size() + 1) / 2;
          // Keep the victim's next item: it may be about to start it.
          if (take == queues[victim].size() && take > 1) --take;
          for (size_t i = 0; i < take; ++i) {
            queues[me].push_front(std::move(queues[victim].back()));
            queues[victim].pop_back();
          }
        }
        // A batch: half of what is left here by estimate, so there is still
        // something to steal while it runs, but never less than
        // kMinBatchSeconds of work (each batch pays a process start); alone,
        // everything at once.
        double target = workers == 1 ? remaining(me) : std::max(remaining(me) / 2, kMinBatchSeconds);
        double taken_estimate = 0;
        // (Alone, everything: tests measured at 0 s would otherwise each be a batch.)
        // (Taken as names at once: a million items are not moved about.)
        while (!queues[me].empty() && (tests.empty() || workers == 1 || taken_estimate < target)) {
          const WorkItem& item = queues[me].front();
          taken_estimate += cost(item);
          (item.guessed ? guessed_estimate : known_estimate) += item.estimate;
          item.tests.for_each([&](uint32_t at) {
            tests.push_back(names[at]);
            positions.push_back(at);
          });
          queues[me].pop_front();
        }
        batch_name = fmt::format("{}-w{}-b{}", phase, me + 1, ++batch_counter);
        ++result.batches;
      }
      events::record({{"type", "batch"},
                      {"phase", phase},
                      {"worker", me + 1},
                      {"event", "start"},
                      {"batch", batch_name},
                      {"tests", tests.size()}});
      auto batch_start = std::chrono::steady_clock::now();
      // (On a worker thread: what cannot start the tool is the batch's error.)
      BatchResult batch;
      try {
        batch = runner.run_batch(env, tests, test_timeout, batch_name);
      } catch (const InfraError& e) {
        batch.error = e.what();
      }
      double busy = std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_start).count();
      events::record({{"type", "batch"},
                      {"phase", phase},
                      {"worker", me + 1},
                      {"event", "end"},
                      {"batch", batch_name},
                      {"seconds", busy}});
      std::lock_guard lock(mutex);
      result.workers[me].busy += busy;
      result.workers[me].batches += 1;
      if (guessed_estimate > 0) {
        guessed_ran += guessed_estimate;
        guessed_took += std::max(busy - known_estimate, 0.0);
        guessed_scale = std::max(guessed_took / guessed_ran, 1e-4);
      }
      if (batch.interrupted || interrupt::requested()) {
        interrupted = true;
        return;
      }
      if (result.tests.empty()) {
        result.tests = std::move(batch.tests);
      } else {
        result.tests.insert(result.tests.end(), std::make_move_iterator(batch.tests.begin()),
                            std::make_move_iterator(batch.tests.end()));
      }
      if (!batch.error.empty()) result.errors.push_back(fmt::format("{}: {}", batch_name, batch.error));
      // Tests after a timed-out one go back to the front of this worker's share.
      if (!batch.not_run.empty()) {
        std::unordered_map<std::string_view, uint32_t> position_of;
        for (size_t i = 0; i < tests.size(); ++i) position_of.emplace(tests[i], positions[i]);
        for (auto it = batch.not_run.rbegin(); it != batch.not_run.rend(); ++it) {
          if (auto p = position_of.find(*it); p != position_of.end())
            queues[me].push_front(WorkItem{TestPositions(p->second), 1.0});
        }
      }
    }
  };

  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) threads.emplace_back(work, w);
  for (auto& t : threads) t.join();
  result.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (interrupted) throw Interrupted();
  return result;
}

}  // namespace gate::suite

#include "suite/timings.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "registry/digest.h"

namespace gate::suite {

std::map<std::string, double> TimingStore::durations() const {
  std::map<std::string, double> out;
  for (const auto& [test, h] : tests) {
    if (h.seconds >= 0) out[test] = h.seconds;
  }
  return out;
}

bool TimingStore::known_flaky(const std::string& test) const {
  auto it = tests.find(test);
  return it != tests.end() && it->second.flaky_on_published > 0;
}

bool TimingStore::was_pre_existing(const std::string& test) const {
  if (!last_pass) return false;
  const auto& list = last_pass->pre_existing;
  return std::find(list.begin(), list.end(), test) != list.end();
}

std::filesystem::path timings_file(const std::filesystem::path& cache_dir, const std::string& consumer) {
  return cache_dir / "timings" / (consumer + ".json");
}

namespace {

// The store is evidence as well as a plan: a test gate saw flaky on a
// published image, the tests of the last passing run. It lives in a cache
// the consumers' own code can write, so each store gate writes starts with
// a line "gate-mac <HMAC-SHA256 of the rest>" under a random key of the cache
// (timings/.key, mode 0600). A store without a valid MAC was not written by
// gate as it stands: its durations still plan shards, its evidence is dropped.
constexpr std::string_view kMacPrefix = "gate-mac ";

std::string cache_key(const std::filesystem::path& dir, bool create) {
  const auto path = dir / ".key";
  std::ifstream in(path, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (key.size() >= 32 || !create) return key;
  std::ifstream random("/dev/urandom", std::ios::binary);
  key.assign(32, '\0');
  random.read(key.data(), 32);
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return cache_key(dir, false);  // another writer made it first
  bool written = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
  ::close(fd);
  return written ? key : "";
}

}  // namespace

TimingStore load_store(const std::filesystem::path& file) {
  TimingStore store;
  std::ifstream in(file, std::ios::binary);
  if (!in) return store;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bool trusted = false;
  if (text.compare(0, kMacPrefix.size(), kMacPrefix) == 0) {
    size_t newline = text.find('\n');
    std::string mac = text.substr(kMacPrefix.size(), newline - kMacPrefix.size());
    text.erase(0, newline == std::string::npos ? text.size() : newline + 1);
    std::string key = cache_key(file.parent_path(), false);
    trusted = !key.empty() && mac == registry::hmac_sha256_hex(key, text);
  }
  try {
    auto json = nlohmann::json::parse(text);
    if (!json.is_object()) throw nlohmann::json::type_error::create(302, "not an object", nullptr);
    if (json.value("version", 1) < 2) {  // version 1: {test: seconds}
      for (const auto& [test, seconds] : json.items()) {
        if (seconds.is_number()) store.tests[test].seconds = seconds.get<double>();
      }
      return store;
    }
    const nlohmann::json tests = json.value("tests", nlohmann::json::object());
    for (const auto& [test, h] : tests.items()) {
      if (!h.is_object()) continue;
      auto& entry = store.tests[test];
      if (h.contains("seconds") && h["seconds"].is_number()) entry.seconds = h["seconds"].get<double>();
      if (h.contains("flaky_on_published") && h["flaky_on_published"].is_number_integer()) {
        entry.flaky_on_published = h["flaky_on_published"].get<int>();
      }
    }
    if (json.contains("last_pass") && json["last_pass"].is_object()) {
      const auto& p = json["last_pass"];
      LastPass last;
      last.commit = p.value("commit", "");
      last.selection = p.value("selection", "");
      last.tests = p.value("tests", std::vector<std::string>{});
      last.pre_existing = p.value("pre_existing", std::vector<std::string>{});
      store.last_pass = std::move(last);
    }
  } catch (const nlohmann::json::exception& e) {
    log::warn(fmt::format("timing store {} is unreadable ({}); planning without it", file.string(), e.what()));
    store = TimingStore{};
  }
  bool evidence = store.last_pass.has_value() ||
                  std::any_of(store.tests.begin(), store.tests.end(), [](const auto& t) { return t.second.flaky_on_published > 0; });
  if (!trusted && evidence) {
    log::warn(fmt::format("timing store {} was not written by gate as it stands (no valid MAC): its durations plan "
                          "the shards, its history (flaky on a published image, the last passing run) is not used",
                          file.string()));
    store.last_pass.reset();
    for (auto& [test, h] : store.tests) h.flaky_on_published = 0;
  }
  return store;
}

namespace {

// Written entry by entry rather than as one JSON tree: a consumer with a
// million tests would hold the tree and its text at once.
void write_store(std::ostream& out, const TimingStore& store) {
  auto quoted = [](const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  out << "{\n \"version\": 2,\n \"tests\": {";
  bool first = true;
  for (const auto& [test, h] : store.tests) {
    out << (first ? "\n  " : ",\n  ") << quoted(test) << ": {";
    first = false;
    bool field = false;
    if (h.seconds >= 0) out << "\"seconds\": " << nlohmann::json(h.seconds).dump(), field = true;
    if (h.flaky_on_published > 0) out << (field ? ", " : "") << "\"flaky_on_published\": " << h.flaky_on_published;
    out << "}";
  }
  out << "\n }";
  if (store.last_pass) {
    auto list = [&](const std::vector<std::string>& items) {
      std::string text = "[";
      for (size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + quoted(items[i]);
      return text + "]";
    };
    out << ",\n \"last_pass\": {\"commit\": " << quoted(store.last_pass->commit)
        << ", \"selection\": " << quoted(store.last_pass->selection) << ",\n  \"tests\": " << list(store.last_pass->tests)
        << ",\n  \"pre_existing\": " << list(store.last_pass->pre_existing) << "}";
  }
  out << "\n}\n";
}

}  // namespace

void update_store(const std::filesystem::path& file, const StoreUpdate& update) {
  if (update.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  int lock = ::open((file.string() + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  TimingStore store = load_store(file);
  for (const auto& [test, seconds] : update.seconds) store.tests[test].seconds = seconds;
  for (const auto& test : update.flaky_on_published) store.tests[test].flaky_on_published++;
  if (update.last_pass) store.last_pass = update.last_pass;
  auto temp = file.string() + fmt::format(".tmp{}", ::getpid());
  {
    std::ostringstream body;
    write_store(body, store);
    const std::string text = body.str();
    std::ofstream out(temp, std::ios::binary);
    out << kMacPrefix << registry::hmac_sha256_hex(cache_key(file.parent_path(), true), text) << "\n" << text;
  }
  std::filesystem::rename(temp, file, ec);
  if (ec) log::warn(fmt::format("could not update the timing store {}: {}", file.string(), ec.message()));
  if (lock >= 0) ::close(lock);
}

std::map<std::string, double> load_timings(const std::filesystem::path& file) { return load_store(file).durations(); }

void update_timings(const std::filesystem::path& file, const std::map<std::string, double>& measured) {
  StoreUpdate update;
  update.seconds = measured;
  update_store(file, update);
}

}  // namespace gate::suite

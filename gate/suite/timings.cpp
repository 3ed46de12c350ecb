#include "suite/timings.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/escape.h"
#include "core/log.h"
#include "registry/digest.h"

namespace gate::suite {

std::optional<double> TimingStore::seconds_of(const std::string& test) const {
  auto it = tests.find(test);
  if (it == tests.end() || it->second.seconds < 0) return std::nullopt;
  return it->second.seconds;
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

namespace {

// Version 1 ({test: seconds}) and 2 (one JSON document), as earlier gates
// wrote them: read whole, once; the next write is version 3.
void read_document(const std::string& text, TimingStore& store) {
  auto json = nlohmann::json::parse(text);
  if (!json.is_object()) throw nlohmann::json::type_error::create(302, "not an object", nullptr);
  if (json.value("version", 1) < 2) {
    for (const auto& [test, seconds] : json.items()) {
      if (seconds.is_number()) store.tests[test].seconds = seconds.get<double>();
    }
    return;
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
}

// One test's line of version 3 as it is read and written.
struct Entry {
  std::string test;
  double seconds = -1;
  int flaky = 0;
  long last_pass = -1, pre_existing = -1;  // positions in the last passing run's lists
};

Entry entry_of(const nlohmann::json& line) {
  if (!line.is_object() || !line.contains("test") || !line["test"].is_string()) {
    throw nlohmann::json::type_error::create(302, "a line without a test", nullptr);
  }
  Entry e;
  e.test = line["test"].get<std::string>();
  if (auto s = line.find("seconds"); s != line.end() && s->is_number()) e.seconds = s->get<double>();
  if (auto f = line.find("flaky_on_published"); f != line.end() && f->is_number_integer()) e.flaky = f->get<int>();
  if (auto p = line.find("last_pass"); p != line.end() && p->is_number_unsigned()) e.last_pass = p->get<long>();
  if (auto p = line.find("pre_existing"); p != line.end() && p->is_number_unsigned()) e.pre_existing = p->get<long>();
  return e;
}

// The length of the JSON number `text` starts with (0: none), by JSON's
// grammar: from_chars alone would also take "1.", ".5", "01" and "inf".
size_t json_number_length(std::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    return i - from;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return 0;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (digits() == 0) return 0;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (digits() == 0) return 0;
  }
  return i;
}

// A line exactly as line_of writes it, read without a JSON tree (~10 times
// fewer instructions: the store is read before every run's first test and
// merged after its last), to the Entry entry_of would make of it. Nothing
// for any other line (a name that is not plain ASCII, another order,
// spaces, a number written otherwise): entry_of reads those.
std::optional<Entry> canonical_entry(std::string_view line) {
  auto take = [&](std::string_view prefix) {
    if (line.substr(0, prefix.size()) != prefix) return false;
    line.remove_prefix(prefix.size());
    return true;
  };
  auto number = [&](auto& into) {
    const size_t length = json_number_length(line);
    if (length == 0) return false;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + length, into);
    if (ec != std::errc() || end != line.data() + length) return false;
    line.remove_prefix(length);
    return true;
  };
  Entry e;
  if (!take("{\"test\": \"")) return std::nullopt;
  const size_t quote = line.find('"');
  if (quote == std::string_view::npos) return std::nullopt;
  e.test.assign(line.substr(0, quote));
  if (!std::all_of(e.test.begin(), e.test.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '\\'; }))
    return std::nullopt;
  line.remove_prefix(quote + 1);
  if (take(", \"seconds\": ") && (!number(e.seconds) || e.seconds < 0)) return std::nullopt;
  long flaky = 0;
  if (take(", \"flaky_on_published\": ")) {
    if (!number(flaky) || flaky < 0 || flaky > std::numeric_limits<int>::max()) return std::nullopt;
    e.flaky = static_cast<int>(flaky);
  }
  if (take(", \"last_pass\": ") && (!number(e.last_pass) || e.last_pass < 0)) return std::nullopt;
  if (take(", \"pre_existing\": ") && (!number(e.pre_existing) || e.pre_existing < 0)) return std::nullopt;
  if (line != "}") return std::nullopt;
  return e;
}

Entry entry_of_line(const std::string& line) {
  if (auto e = canonical_entry(line)) return std::move(*e);
  return entry_of(nlohmann::json::parse(line));
}

std::string json_quoted(const std::string& text) {
  std::string out;
  core::append_json_string(out, text);
  return out;
}

// The shortest text that reads back as the same double (a JSON number).
std::string number_text(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : nlohmann::json(value).dump();
}

std::string line_of(const Entry& e) {
  std::string line = "{\"test\": ";
  core::append_json_string(line, e.test);
  if (e.seconds >= 0 && std::isfinite(e.seconds)) line += ", \"seconds\": " + number_text(e.seconds);
  if (e.flaky > 0) line += fmt::format(", \"flaky_on_published\": {}", e.flaky);
  if (e.last_pass >= 0) line += fmt::format(", \"last_pass\": {}", e.last_pass);
  if (e.pre_existing >= 0) line += fmt::format(", \"pre_existing\": {}", e.pre_existing);
  return line + "}";
}

// The header line; `last_pass` the JSON of {"commit", "selection"}, or "".
std::string header_line(const std::string& last_pass) {
  return last_pass.empty() ? "{\"version\": 3}" : "{\"version\": 3, \"last_pass\": " + last_pass + "}";
}

std::string last_pass_json(const LastPass& last) {
  return fmt::format("{{\"commit\": {}, \"selection\": {}}}", json_quoted(last.commit), json_quoted(last.selection));
}

// Lines out, each fed to the MAC as it goes.
struct SignedLines {
  std::ostream& out;
  registry::HmacSha256& mac;
  void line(const std::string& text) {
    out << text << '\n';
    mac.update(text);
    mac.update("\n");
  }
};

// The last passing run's tests as the lines name them: (position, test).
struct Positions {
  std::vector<std::pair<size_t, std::string>> tests, pre_existing;
};

// One test's line of version 3, into the store.
void read_test_line(const std::string& line, TimingStore& store, Positions& positions, const SecondsSink& seconds) {
  Entry e = entry_of_line(line);
  if (store.last_pass) {
    if (e.last_pass >= 0) positions.tests.emplace_back(static_cast<size_t>(e.last_pass), e.test);
    if (e.pre_existing >= 0) positions.pre_existing.emplace_back(static_cast<size_t>(e.pre_existing), e.test);
  }
  TestHistory h{e.seconds, e.flaky};
  if (seconds && h.seconds >= 0) {
    seconds(e.test, h.seconds);
    h.seconds = -1;
  }
  if (h.seconds >= 0 || h.flaky_on_published > 0) store.tests.insert_or_assign(std::move(e.test), h);
}

// Version 3: a JSON object per line after the MAC line, a header, then a
// line per test. Read and written line by line: a consumer with a million
// tests never holds its store as one document. `mac` (if any) is fed every
// byte after the MAC line.
void read_lines(std::istream& in, const nlohmann::json& header, TimingStore& store, registry::HmacSha256* mac,
                const SecondsSink& seconds) {
  if (auto p = header.find("last_pass"); p != header.end() && p->is_object()) {
    LastPass last;
    last.commit = p->value("commit", "");
    last.selection = p->value("selection", "");
    store.last_pass = std::move(last);
  }
  Positions positions;
  for (std::string line; std::getline(in, line);) {
    if (mac) {
      mac->update(line);
      mac->update("\n");
    }
    if (!line.empty()) read_test_line(line, store, positions, seconds);
  }
  if (!store.last_pass) return;
  for (auto [list, into] : {std::pair{&positions.tests, &store.last_pass->tests},
                            std::pair{&positions.pre_existing, &store.last_pass->pre_existing}}) {
    std::sort(list->begin(), list->end());
    into->reserve(list->size());
    for (auto& [position, test] : *list) into->push_back(std::move(test));
  }
}

}  // namespace

void read_pinned_durations(const std::filesystem::path& file, const SecondsSink& seconds) {
  std::ifstream in(file, std::ios::binary);
  auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("seconds") || !doc["seconds"].is_object()) {
    // The plan pinned these for every shard: splitting without them would differ.
    throw InfraError(fmt::format("pinned durations {} are unreadable", file.string()));
  }
  for (const auto& [test, s] : doc["seconds"].items()) {
    if (s.is_number()) seconds(test, s.get<double>());
  }
}

void write_pinned_durations(const std::filesystem::path& file, const std::map<std::string, double>& seconds) {
  std::filesystem::create_directories(file.parent_path());
  const auto partial = file.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << nlohmann::json{{"seconds", seconds}}.dump();
    if (!out) throw InfraError(fmt::format("cannot write {}", partial));
  }
  std::filesystem::rename(partial, file);
}

TimingStore load_store(const std::filesystem::path& file, const SecondsSink& seconds) {
  TimingStore store;
  std::ifstream in(file, std::ios::binary);
  if (!in) return store;
  std::string first, mac_seen;
  bool had_newline = static_cast<bool>(std::getline(in, first)) && !in.eof();
  if (first.compare(0, kMacPrefix.size(), kMacPrefix) == 0) {
    mac_seen = first.substr(kMacPrefix.size());
    first.clear();
    had_newline = static_cast<bool>(std::getline(in, first)) && !in.eof();
  }
  const std::string key = mac_seen.empty() ? "" : cache_key(file.parent_path(), false);
  bool trusted = false;
  try {
    auto header = nlohmann::json::parse(first, nullptr, /*allow_exceptions=*/false);
    if (header.is_object() && header.value("version", 0) == 3) {
      std::optional<registry::HmacSha256> mac;
      if (!key.empty()) {
        mac.emplace(key);
        mac->update(first);
        mac->update("\n");
      }
      read_lines(in, header, store, mac ? &*mac : nullptr, seconds);
      trusted = mac && mac->hex() == mac_seen;
    } else {  // an earlier version: one document
      std::string text = first + (had_newline ? "\n" : "");
      text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      trusted = !key.empty() && mac_seen == registry::hmac_sha256_hex(key, text);
      read_document(text, store);
      if (seconds) {
        for (auto& [test, h] : store.tests) seconds(test, std::exchange(h.seconds, -1));
        std::erase_if(store.tests, [](const auto& entry) { return entry.second.flaky_on_published == 0; });
      }
    }
  } catch (const std::exception& e) {
    log::warn(fmt::format("timing store {} is unreadable ({}); planning without it", file.string(), e.what()));
    store = TimingStore{};
  }
  bool evidence = store.last_pass.has_value() || std::any_of(store.tests.begin(), store.tests.end(), [](const auto& t) {
                    return t.second.flaky_on_published > 0;
                  });
  if (!trusted && evidence) {
    log::warn(
        fmt::format("timing store {} was not written by gate as it stands (no valid MAC): its durations plan "
                    "the shards, its history (flaky on a published image, the last passing run) is not used",
                    file.string()));
    store.last_pass.reset();
    for (auto& [test, h] : store.tests) h.flaky_on_published = 0;
  }
  return store;
}

namespace {

// Writes a whole store as version 3 (the path for a store that cannot be
// merged as a stream).
void write_lines(SignedLines out, TimingStore& store) {
  // The last passing run's tests by their position in it (its order is
  // the order in which missing tests are named).
  std::unordered_map<std::string_view, long> in_last_pass, pre_existing;
  if (store.last_pass) {
    for (const auto& test : store.last_pass->tests) store.tests.try_emplace(test);  // a line for each
    const auto& tests = store.last_pass->tests;
    for (size_t i = 0; i < tests.size(); ++i) in_last_pass.emplace(tests[i], static_cast<long>(i));
    const auto& excused = store.last_pass->pre_existing;
    for (size_t i = 0; i < excused.size(); ++i) pre_existing.emplace(excused[i], static_cast<long>(i));
  }
  out.line(header_line(store.last_pass ? last_pass_json(*store.last_pass) : ""));
  for (const auto& [test, h] : store.tests) {
    Entry e{test, h.seconds, h.flaky_on_published};
    if (auto p = in_last_pass.find(test); p != in_last_pass.end()) e.last_pass = p->second;
    if (auto p = pre_existing.find(test); p != pre_existing.end()) e.pre_existing = p->second;
    out.line(line_of(e));
  }
}

// Whether a version-3 store carries gate's MAC (read through once; its
// lines are merged in a second pass only then is it known what to keep).
bool v3_trusted(const std::filesystem::path& file, const std::string& key) {
  std::ifstream in(file, std::ios::binary);
  std::string first;
  if (key.empty() || !std::getline(in, first) || first.compare(0, kMacPrefix.size(), kMacPrefix) != 0) return false;
  registry::HmacSha256 mac(key);
  for (std::string line; std::getline(in, line);) {
    mac.update(line);
    mac.update("\n");
  }
  return mac.hex() == first.substr(kMacPrefix.size());
}

// The update merged with the store on disk into `out`, both walked in test
// order: no map of every test. False when the store on disk is not one to
// stream (another version, unsorted, unreadable): the caller loads it whole.
// Long because the header, the MAC and the two sorted streams are checked
// and walked together in one pass; each part depends on the one before.
bool merge_streams(const std::filesystem::path& file, StoreUpdate& update, SignedLines out) {
  std::ifstream in(file, std::ios::binary);
  std::string first, header_text;
  bool old = static_cast<bool>(in);
  nlohmann::json header = nlohmann::json::object();
  bool trusted = false;
  if (old) {
    std::getline(in, first);
    if (first.compare(0, kMacPrefix.size(), kMacPrefix) == 0)
      std::getline(in, header_text);
    else
      header_text = first;
    header = nlohmann::json::parse(header_text, nullptr, /*allow_exceptions=*/false);
    if (!header.is_object() || header.value("version", 0) != 3) return false;
    trusted = v3_trusted(file, cache_key(file.parent_path(), false));
    if (!trusted) {
      log::warn(
          fmt::format("timing store {} was not written by gate as it stands (no valid MAC): its history is "
                      "dropped as it is updated",
                      file.string()));
    }
  }
  // The update in test order, each test once (its last duration).
  auto& seconds = update.seconds;
  std::stable_sort(seconds.begin(), seconds.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::map<std::string, int> flaky;
  for (const auto& test : update.flaky_on_published) flaky[test]++;
  std::unordered_map<std::string_view, long> pass_at, excused_at;
  std::vector<std::string_view> fresh;  // every test the update names, sorted, once
  for (size_t i = 0; i < seconds.size(); ++i) {
    if (i + 1 == seconds.size() || seconds[i + 1].first != seconds[i].first) fresh.push_back(seconds[i].first);
  }
  for (const auto& [test, count] : flaky) fresh.push_back(test);
  if (update.last_pass) {
    const auto& tests = update.last_pass->tests;
    for (size_t i = 0; i < tests.size(); ++i)
      pass_at.emplace(tests[i], static_cast<long>(i)), fresh.push_back(tests[i]);
    const auto& excused = update.last_pass->pre_existing;
    for (size_t i = 0; i < excused.size(); ++i) excused_at.emplace(excused[i], static_cast<long>(i));
  }
  std::sort(fresh.begin(), fresh.end());
  fresh.erase(std::unique(fresh.begin(), fresh.end()), fresh.end());

  std::string last_pass;
  if (update.last_pass) {
    last_pass = last_pass_json(*update.last_pass);
  } else if (trusted && header.contains("last_pass") && header["last_pass"].is_object()) {
    last_pass = header["last_pass"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  out.line(header_line(last_pass));
  // An entry as it goes out: this run's duration, the flaky count added to
  // what gate saw before, the positions of this run's pass (if it passed).
  auto finish = [&](Entry e) {
    if (!trusted) e.flaky = 0, e.last_pass = e.pre_existing = -1;
    auto s = std::lower_bound(seconds.begin(), seconds.end(), e.test,
                              [](const auto& p, const std::string& t) { return p.first < t; });
    for (; s != seconds.end() && s->first == e.test; ++s) e.seconds = s->second;  // (the last of a repeated test)
    if (auto f = flaky.find(e.test); f != flaky.end()) e.flaky += f->second;
    if (update.last_pass) {
      auto p = pass_at.find(e.test);
      e.last_pass = p == pass_at.end() ? -1 : p->second;
      auto x = excused_at.find(e.test);
      e.pre_existing = x == excused_at.end() ? -1 : x->second;
    }
    if (e.seconds >= 0 || e.flaky > 0 || e.last_pass >= 0) out.line(line_of(e));
  };
  std::optional<Entry> next_old;
  std::string previous;
  auto read_old = [&]() -> bool {  // false: not sorted, so not mergeable
    next_old.reset();
    for (std::string line; old && std::getline(in, line);) {
      if (line.empty()) continue;
      Entry e = entry_of_line(line);
      if (!previous.empty() && !(previous < e.test)) return false;
      previous = e.test;
      next_old = std::move(e);
      break;
    }
    return true;
  };
  if (!read_old()) return false;
  size_t i = 0;
  while (next_old || i < fresh.size()) {
    if (next_old && (i == fresh.size() || next_old->test < fresh[i])) {
      finish(std::move(*next_old));
      if (!read_old()) return false;
    } else if (next_old && next_old->test == fresh[i]) {
      finish(std::move(*next_old));
      ++i;
      if (!read_old()) return false;
    } else {
      Entry e;
      e.test = std::string(fresh[i++]);
      finish(std::move(e));
    }
  }
  return true;
}

}  // namespace

void update_store(const std::filesystem::path& file, StoreUpdate update) {
  if (update.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  int lock = ::open((file.string() + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  auto temp = file.string() + fmt::format(".tmp{}", ::getpid());
  const std::string key = cache_key(file.parent_path(), true);
  // The MAC line comes first but is known last: a placeholder of its
  // length, written over once the rest is out.
  auto write = [&](const std::function<void(std::ostream&, registry::HmacSha256&)>& body) {
    registry::HmacSha256 mac(key);
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << kMacPrefix << std::string(64, '0') << "\n";
    body(out, mac);
    out.seekp(static_cast<std::streamoff>(kMacPrefix.size()));
    out << mac.hex();
    out.close();
    return !out.fail();
  };
  bool merged = false;
  bool written = write([&](std::ostream& out, registry::HmacSha256& mac) {
    try {
      merged = merge_streams(file, update, SignedLines{out, mac});
    } catch (const std::exception&) {
      merged = false;
    }
  });
  if (!merged) {  // a store of an earlier version (or out of order): whole, through the map
    TimingStore store = load_store(file);
    for (auto& [test, seconds] : update.seconds) store.tests[std::move(test)].seconds = seconds;
    std::vector<std::pair<std::string, double>>().swap(update.seconds);
    for (const auto& test : update.flaky_on_published) store.tests[test].flaky_on_published++;
    if (update.last_pass) store.last_pass = std::move(update.last_pass);
    written = write([&](std::ostream& out, registry::HmacSha256& mac) { write_lines(SignedLines{out, mac}, store); });
  }
  if (written) std::filesystem::rename(temp, file, ec);
  if (!written || ec) {
    log::warn(fmt::format("could not update the timing store {}: {}", file.string(),
                          written ? ec.message() : "write failed"));
    std::filesystem::remove(temp, ec);
  }
  if (lock >= 0) ::close(lock);
}

}  // namespace gate::suite

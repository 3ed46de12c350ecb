#include "suite/timings.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "registry/digest.h"

using namespace gate::suite;

namespace {

std::filesystem::path scratch_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("gate-timings-" + std::to_string(::getpid()) + "-" +
                                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string read(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST(Hmac, RfcVectorsWholeAndInPieces) {
  // RFC 4231, test cases 2 (a short key) and 6 (a key longer than a block).
  EXPECT_EQ(gate::registry::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::string long_key(131, '\xaa');
  EXPECT_EQ(gate::registry::hmac_sha256_hex(long_key, "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  gate::registry::HmacSha256 mac(long_key);
  mac.update("Test Using Larger Than ");
  mac.update("Block-Size Key - Hash Key First");
  EXPECT_EQ(mac.hex(), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// Updates are gathered before they are hashed: any split of the same bytes,
// across the gathering's bound and past it, is the same MAC.
TEST(Hmac, ManySmallAndLargeUpdatesAreTheWholeBytes) {
  std::string bytes;
  for (int i = 0; bytes.size() < 300 * 1024; ++i) bytes += "{\"test\": \"t::" + std::to_string(i) + "\"}\n";
  const std::string whole = gate::registry::hmac_sha256_hex("key", bytes);
  gate::registry::HmacSha256 small("key");
  for (size_t at = 0; at < bytes.size(); at += 7) small.update(std::string_view(bytes).substr(at, 7));
  EXPECT_EQ(small.hex(), whole);
  gate::registry::HmacSha256 mixed("key");
  mixed.update(std::string_view(bytes).substr(0, 100));
  mixed.update(std::string_view(bytes).substr(100, 200 * 1024));  // larger than what is gathered
  mixed.update(std::string_view(bytes).substr(100 + 200 * 1024));
  EXPECT_EQ(mixed.hex(), whole);
}

TEST(TimingStore, RoundTripsLineByLine) {
  auto file = timings_file(scratch_dir(), "c");
  StoreUpdate update;
  update.seconds = {{"t::a", 1.5}, {"t::b", 0.25}};
  update.flaky_on_published = {"t::b"};
  update.last_pass = LastPass{"abc123", "pytest tests/", {"t::b", "t::skipped", "t::a"}, {"t::a"}};
  update_store(file, update);
  auto store = load_store(file);
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::a"), 1.5);
  EXPECT_FALSE(store.seconds_of("t::skipped"));
  EXPECT_TRUE(store.known_flaky("t::b"));
  ASSERT_TRUE(store.last_pass);
  EXPECT_EQ(store.last_pass->commit, "abc123");
  EXPECT_EQ(store.last_pass->tests, (std::vector<std::string>{"t::b", "t::skipped", "t::a"}));  // its order
  EXPECT_TRUE(store.was_pre_existing("t::a"));
  EXPECT_FALSE(store.was_pre_existing("t::b"));
  // One line per test after the MAC and the header.
  auto text = read(file);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
  EXPECT_EQ(text.rfind("gate-mac ", 0), 0u);

  StoreUpdate later;  // merged into what is there
  later.seconds = {{"t::c", 2.0}};
  update_store(file, later);
  store = load_store(file);
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::a"), 1.5);
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::c"), 2.0);
  EXPECT_TRUE(store.known_flaky("t::b"));
  EXPECT_TRUE(store.last_pass);
}

TEST(TimingStore, AnEditedLineDropsTheEvidenceNotTheDurations) {
  auto file = timings_file(scratch_dir(), "c");
  StoreUpdate update;
  update.seconds = {{"t::a", 1.5}};
  update.last_pass = LastPass{"abc123", "sel", {"t::a"}, {}};
  update_store(file, update);
  auto text = read(file);
  text.replace(text.find("1.5"), 3, "9.5");
  text += "{\"test\": \"t::forged\", \"flaky_on_published\": 3}\n";
  std::ofstream(file, std::ios::binary) << text;
  auto store = load_store(file);
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::a"), 9.5);
  EXPECT_FALSE(store.known_flaky("t::forged"));
  EXPECT_FALSE(store.last_pass);
}

TEST(TimingStore, ReadsVersionTwoWithItsMac) {
  auto dir = scratch_dir();
  auto file = timings_file(dir, "c");
  StoreUpdate seed;  // makes the cache's key
  seed.seconds = {{"x", 1}};
  update_store(file, seed);
  std::ifstream key_in(file.parent_path() / ".key", std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(key_in)), std::istreambuf_iterator<char>());
  const std::string body =
      "{\n \"version\": 2,\n \"tests\": {\n  \"t::a\": {\"seconds\": 2.5, \"flaky_on_published\": 1}\n },\n"
      " \"last_pass\": {\"commit\": \"c1\", \"selection\": \"s\",\n  \"tests\": [\"t::a\"],\n  \"pre_existing\": "
      "[]}\n}\n";
  std::ofstream(file, std::ios::binary) << "gate-mac " << gate::registry::hmac_sha256_hex(key, body) << "\n" << body;
  auto store = load_store(file);
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::a"), 2.5);
  EXPECT_TRUE(store.known_flaky("t::a"));
  ASSERT_TRUE(store.last_pass);
  EXPECT_EQ(store.last_pass->tests, std::vector<std::string>{"t::a"});
}

// Lines as gate writes them are read without a JSON tree; every other line
// (escapes, another order, spaces, numbers JSON allows) is still read as JSON,
// to the same entries; a line JSON does not allow makes the store unreadable.
TEST(TimingStore, ReadsItsOwnLinesAndAnyOtherJsonLineAlike) {
  auto file = timings_file(scratch_dir(), "c");
  StoreUpdate update;
  update.seconds = {{"t::plain", 1.5},
                    {"t::quote\"and\\back", 0.25},
                    {"t::\u00e9t\u00e9", 3e-05},
                    {"t::tab\there", 2.0},
                    {"t::zero", 0.0}};
  update.flaky_on_published = {"t::plain"};
  update.last_pass = LastPass{"abc123", "sel", {"t::zero", "t::plain"}, {"t::zero"}};
  update_store(file, update);
  auto check = [&](const TimingStore& store) {
    EXPECT_DOUBLE_EQ(*store.seconds_of("t::plain"), 1.5);
    EXPECT_DOUBLE_EQ(*store.seconds_of("t::quote\"and\\back"), 0.25);
    EXPECT_DOUBLE_EQ(*store.seconds_of("t::\u00e9t\u00e9"), 3e-05);
    EXPECT_DOUBLE_EQ(*store.seconds_of("t::tab\there"), 2.0);
    EXPECT_TRUE(store.known_flaky("t::plain"));
    ASSERT_TRUE(store.last_pass);
    EXPECT_EQ(store.last_pass->tests, (std::vector<std::string>{"t::zero", "t::plain"}));
    EXPECT_EQ(store.last_pass->pre_existing, std::vector<std::string>{"t::zero"});
  };
  check(load_store(file));
  // The same entries written otherwise (unsigned: durations only).
  auto text = read(file);
  text = text.substr(text.find('\n') + 1);  // without the MAC
  auto replace = [&](const std::string& from, const std::string& to) {
    auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  };
  replace("{\"test\": \"t::plain\", \"seconds\": 1.5", "{ \"seconds\":15E-1,\"test\":\"t::pl\\u0061in\"");
  std::ofstream(file, std::ios::binary) << text;
  auto store = load_store(file);
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::plain"), 1.5);
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::quote\"and\\back"), 0.25);
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::zero"), 0.0);
  // Not JSON: the store is not read at all (as before the fast reading).
  for (const char* number : {"inf", "1.", ".5", "01", "1e", "+1"}) {
    std::ofstream(file, std::ios::binary) << "{\"version\": 3}\n{\"test\": \"t::a\", \"seconds\": " << number << "}\n";
    EXPECT_FALSE(load_store(file).seconds_of("t::a")) << number;
  }
  std::ofstream(file, std::ios::binary)
      << "{\"version\": 3}\n{\"test\": \"t::a\", \"seconds\": 25E-1, \"last_pass\": 1e0}\n";
  EXPECT_DOUBLE_EQ(*load_store(file).seconds_of("t::a"), 2.5);
  std::ofstream(file, std::ios::binary)
      << "{\"version\": 3}\n{\"test\": \"t::a\", \"seconds\": 1}\n{\"test\": \"t::b\tc\", \"seconds\": 1}\n";
  EXPECT_FALSE(load_store(file).seconds_of("t::a"));
}

TEST(TimingStore, DurationsHandedToASinkAreNotKept) {
  auto file = timings_file(scratch_dir(), "c");
  StoreUpdate update;
  update.seconds = {{"t::a", 1.5}, {"t::b", 0.25}};
  update.flaky_on_published = {"t::b"};
  update_store(file, update);
  std::map<std::string, double> seen;
  auto store = load_store(file, [&](std::string_view test, double seconds) { seen[std::string(test)] = seconds; });
  EXPECT_EQ(seen, (std::map<std::string, double>{{"t::a", 1.5}, {"t::b", 0.25}}));
  EXPECT_EQ(store.tests.size(), 1u);  // only the evidence: t::b's flaky history
  EXPECT_TRUE(store.known_flaky("t::b"));
  EXPECT_FALSE(store.seconds_of("t::a"));
}

// Merged as streams: what an edited store claimed is not carried into the
// next store gate signs (no laundering of forged flaky history).
TEST(TimingStore, AnUpdateDoesNotLaunderAnEditedStore) {
  auto file = timings_file(scratch_dir(), "c");
  StoreUpdate update;
  update.seconds = {{"t::b", 1}, {"t::a", 2}};
  update.flaky_on_published = {"t::a"};
  update.last_pass = LastPass{"c1", "sel", {"t::b", "t::a"}, {}};
  update_store(file, update);
  auto text = read(file);
  text.replace(text.find("\"flaky_on_published\": 1"), 23, "\"flaky_on_published\": 9");
  std::ofstream(file, std::ios::binary) << text;
  StoreUpdate later;
  later.seconds = {{"t::c", 3}, {"t::a", 4}};
  update_store(file, later);
  auto store = load_store(file);
  EXPECT_FALSE(store.known_flaky("t::a"));  // the forged 9 is gone, and so is the history behind it
  EXPECT_FALSE(store.last_pass);
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::a"), 4);
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::b"), 1);  // durations kept
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::c"), 3);
  // Trusted, merged: the counts add up and the last pass stays.
  auto clean = timings_file(scratch_dir().string() + "-2", "c");
  update_store(clean, update);
  StoreUpdate again;
  again.flaky_on_published = {"t::a"};
  again.seconds = {{"t::z", 1}};
  update_store(clean, again);
  store = load_store(clean);
  EXPECT_EQ(store.tests.at("t::a").flaky_on_published, 2);
  ASSERT_TRUE(store.last_pass);
  EXPECT_EQ(store.last_pass->tests, (std::vector<std::string>{"t::b", "t::a"}));
  EXPECT_DOUBLE_EQ(*store.seconds_of("t::z"), 1);
}

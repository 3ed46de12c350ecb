// libFuzzer target: any bytes as a consumer's JUnit report. Reading it gives
// test cases or InfraError naming the file; what gate writes from those test
// cases (junit.xml) must be well-formed XML 1.0 again, whatever they held.
#include <pugixml.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "report/junit.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<gate::report::TestCase> tests;
  try {
    tests = gate::report::parse_junit_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.xml");
  } catch (const gate::InfraError&) {
    // Refused whole: refused however it is cut.
    bool refused = false;
    try {
      gate::report::parse_junit_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.xml",
                                     200 + (size > 0 ? data[0] : 0) * 8);
    } catch (const gate::InfraError&) {
      refused = true;
    }
    if (!refused) std::abort();
    return 0;
  }
  // Read in pieces (200-2240 bytes, cut before a '<'), the same tests.
  auto cut = gate::report::parse_junit_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.xml",
                                            200 + (size > 0 ? data[0] : 0) * 8);
  if (cut.size() != tests.size()) std::abort();
  for (size_t i = 0; i < cut.size(); ++i) {
    if (cut[i].id() != tests[i].id() || cut[i].status != tests[i].status || cut[i].message != tests[i].message ||
        cut[i].details != tests[i].details) {
      std::abort();  // a report read in pieces must read as it does whole
    }
  }
  gate::report::Verdict verdict;
  verdict.candidate = {"127.0.0.1:5000/fuzz", "", "sha256:0"};
  gate::report::ConsumerResult consumer;
  consumer.name = "fuzz";
  consumer.status = gate::report::ConsumerStatus::failed;
  for (auto& t : tests) {
    t.outcome = t.status == gate::report::TestStatus::failed ? gate::Outcome::regression : gate::Outcome::passed;
    t.blocks = t.status == gate::report::TestStatus::failed;
  }
  consumer.tests = std::move(tests);
  verdict.consumers.push_back(std::move(consumer));
  std::string written = gate::report::render_junit(verdict);
  pugi::xml_document doc;
  if (!doc.load_buffer(written.data(), written.size())) std::abort();  // gate wrote XML it cannot read back
  for (unsigned char c : written) {
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') std::abort();  // a character XML 1.0 forbids
  }
  // Nor a character reference to one (pugixml writes a newline in an attribute as &#10;, which is fine).
  for (size_t at = written.find("&#"); at != std::string::npos; at = written.find("&#", at + 2)) {
    bool hex = at + 2 < written.size() && written[at + 2] == 'x';
    long code = std::strtol(written.c_str() + at + (hex ? 3 : 2), nullptr, hex ? 16 : 10);
    if (code < 0x20 && code != 9 && code != 10 && code != 13) std::abort();
  }
  return 0;
}

// libFuzzer target: any bytes as gate.yaml. The only acceptable outcomes are
// a config or UsageError (exit 2 with file:line:col); any other exception, a
// crash, a sanitizer report, a hang or a blow-up of memory is a finding.
#include <cstdint>
#include <string>

#include "config/config.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gate::config::parse_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  } catch (const gate::UsageError&) {
  }
  return 0;
}

#include "suite/runner.h"

namespace gate::suite {

std::unique_ptr<Runner> make_pytest_runner(std::vector<std::string> selection);
std::unique_ptr<Runner> make_ctest_runner(std::vector<std::string> selection);
std::unique_ptr<Runner> make_go_runner(std::vector<std::string> selection, bool prebuild);

std::unique_ptr<Runner> make_runner(const config::Consumer& consumer) {
  if (consumer.runner == "pytest") return make_pytest_runner(consumer.tests);
  if (consumer.runner == "ctest") return make_ctest_runner(consumer.tests);
  if (consumer.runner == "go") return make_go_runner(consumer.tests, consumer.prebuild);
  return nullptr;  // "command": the whole run is one unit (suite/consumer_run.cpp)
}

}  // namespace gate::suite

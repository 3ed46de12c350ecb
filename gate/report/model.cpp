#include "report/model.h"

namespace gate::report {

std::string_view test_status_name(TestStatus status) {
  switch (status) {
    case TestStatus::passed: return "passed";
    case TestStatus::failed: return "failed";
    case TestStatus::error: return "error";
    case TestStatus::skipped: return "skipped";
  }
  return "unknown";
}

std::string_view consumer_status_name(ConsumerStatus status) {
  switch (status) {
    case ConsumerStatus::passed: return "passed";
    case ConsumerStatus::failed: return "failed";
    case ConsumerStatus::timed_out: return "timed-out";
    case ConsumerStatus::setup_failed: return "setup-failed";
    case ConsumerStatus::not_run: return "not-run";
    case ConsumerStatus::error: return "error";
  }
  return "unknown";
}

}  // namespace gate::report

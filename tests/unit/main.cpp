// The unit tests' main: each run of the binary (ctest runs one per test) gets
// a temporary directory of its own, handed to the tests as TMPDIR (which
// std::filesystem::temp_directory_path reads) and removed when they end. The
// tests' scratch files then never stay behind in /tmp, and two runs at once
// never share one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string scratch = (std::filesystem::temp_directory_path() / "gate-unit.XXXXXX").string();
  if (::mkdtemp(scratch.data()) == nullptr) {
    std::perror("gate_unit_tests: cannot make a temporary directory");
    return 2;
  }
  ::setenv("TMPDIR", scratch.c_str(), 1);
  const int status = RUN_ALL_TESTS();
  std::error_code ignored;
  std::filesystem::remove_all(scratch, ignored);
  return status;
}

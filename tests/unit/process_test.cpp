#include "process/runner.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/error.h"

using namespace std::chrono_literals;
using gate::process::run;
using gate::process::Spec;

TEST(Process, ExitCodeAndOutputLines) {
  Spec spec;
  spec.argv = {"/bin/sh", "-c", "echo one; echo two >&2; exit 3"};
  std::vector<std::string> lines;
  spec.on_line = [&](std::string_view line) { lines.emplace_back(line); };
  auto result = run(spec);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(result.describe(), "exit 3");
}

TEST(Process, SignalDeathIsReportedAsSuch) {
  Spec spec;
  spec.argv = {"/bin/sh", "-c", "kill -9 $$"};
  auto result = run(spec);
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_FALSE(result.ok());
}

TEST(Process, TimeoutKillsTheWholeGroupIncludingBackgroundChildren) {
  auto marker = std::filesystem::temp_directory_path() / ("gate-process-test-" + std::to_string(::getpid()));
  std::filesystem::remove(marker);
  Spec spec;
  // The background child would create the marker after 3 s if it survived.
  spec.argv = {"/bin/sh", "-c", "(sleep 3; touch " + marker.string() + ") & sleep 60"};
  spec.timeout = 300ms;
  spec.grace = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto result = run(spec);
  EXPECT_TRUE(result.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  std::this_thread::sleep_for(3500ms);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a background child outlived the timeout";
}

TEST(Process, TermIgnoringChildIsKilledAfterGrace) {
  Spec spec;
  spec.argv = {"/bin/sh", "-c", "trap '' TERM; sleep 30"};
  spec.timeout = 200ms;
  spec.grace = 300ms;
  auto start = std::chrono::steady_clock::now();
  auto result = run(spec);
  EXPECT_TRUE(result.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(Process, HugeOutputNeverBlocksAndOnlyTheTailIsKept) {
  Spec spec;
  spec.argv = {"/bin/sh", "-c", "head -c 50000000 /dev/zero | tr '\\0' 'x'; echo; echo END"};
  spec.keep_tail = 1024;
  spec.timeout = 60s;
  auto result = run(spec);
  EXPECT_TRUE(result.ok()) << result.describe();
  EXPECT_TRUE(result.output_truncated);
  EXPECT_LE(result.output.size(), 1024u);
  EXPECT_NE(result.output.find("END"), std::string::npos);
}

TEST(Process, MissingProgramIsAnInfrastructureError) {
  Spec spec;
  spec.argv = {"gate-no-such-program-xyz"};
  EXPECT_THROW(run(spec), gate::InfraError);
}

TEST(Process, ChildrenDoNotInheritIgnoredSigpipe) {
  ::signal(SIGPIPE, SIG_IGN);  // as gate itself runs
  Spec spec;
  spec.argv = {"/bin/sh", "-c", "yes | head -n 1 >/dev/null; echo done"};
  spec.timeout = 10s;
  auto result = run(spec);
  EXPECT_TRUE(result.ok());
  EXPECT_NE(result.output.find("done"), std::string::npos);
}

// Children start with vfork and the parent's thread blocks every signal
// across it: the child must still start with none blocked, and the
// caller's own mask must come back as it was.
TEST(Process, ChildStartsWithNoSignalBlockedAndTheCallersMaskIsKept) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigset_t before;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, &before), 0);
  Spec spec;
  spec.argv = {"grep", "SigBlk", "/proc/self/status"};
  spec.timeout = 10s;
  auto result = run(spec);
  sigset_t after;
  pthread_sigmask(SIG_SETMASK, &before, &after);
  EXPECT_TRUE(result.ok());
  EXPECT_NE(result.output.find("SigBlk:\t0000000000000000"), std::string::npos) << result.output;
  EXPECT_EQ(sigismember(&after, SIGUSR1), 1);
  EXPECT_EQ(sigismember(&after, SIGTERM), 0);
}

// A program that is found but cannot be started (its interpreter is
// missing: execve fails in the child) is an infrastructure error, reported
// from the child to the parent, not a hang or a crash.
TEST(Process, ProgramThatCannotStartIsAnInfrastructureError) {
  auto script = std::filesystem::temp_directory_path() / ("gate-bad-interpreter-" + std::to_string(getpid()));
  std::ofstream(script) << "#!/gate/no/such/interpreter\necho never\n";
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  Spec spec;
  spec.argv = {script.string()};
  spec.timeout = 10s;
  try {
    run(spec);
    ADD_FAILURE() << "expected an InfraError";
  } catch (const gate::InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot run"), std::string::npos) << e.what();
  }
  std::filesystem::remove(script);
}

// A child that writes a byte at a time (pytest -q's dots when the user's
// environment sets PYTHONUNBUFFERED) does not wake gate for each: its output
// is gathered in quiet spells, and should_stop (which follows a batch's
// events) is asked once a spell, not once a byte. 300 bytes over >= 300 ms:
// a wakeup a byte would ask >= 300 times; spells of 20 ms ask far fewer.
// A loud child (a megabyte a write, as test_suite_engine's test_loud) is
// read as fast as it writes: no quiet spell after each burst, which held
// such a child to a pipe's worth per spell (100 MB took over 2 s). Seen as
// the gaps between the supervisor's rounds while the output flows.
TEST(Process, LoudOutputIsReadOnWithoutQuietSpells) {
  Spec spec;
  spec.argv = {"/usr/bin/python3", "-c",
               "import os\n"
               "for i in range(40):\n"
               "    os.write(1, b'x' * 1000000 + b'\\n')\n"};
  spec.timeout = 60s;
  spec.keep_tail = 1024;
  std::vector<std::chrono::steady_clock::time_point> rounds;
  spec.should_stop = [&] {
    rounds.push_back(std::chrono::steady_clock::now());
    return false;
  };
  auto result = run(spec);
  ASSERT_TRUE(result.ok()) << result.describe();
  int spells = 0;  // rounds 19 ms or more apart: a quiet spell (20 ms), or a slow machine
  for (size_t i = 1; i < rounds.size(); ++i) spells += rounds[i] - rounds[i - 1] >= 19ms;
  EXPECT_LT(spells, 10) << "of " << rounds.size() << " rounds";
}

TEST(Process, TrickledOutputIsGatheredNotReadAByteAtATime) {
  Spec spec;
  spec.argv = {"/usr/bin/python3", "-c",
               "import os, time\n"
               "for i in range(300):\n"
               "    os.write(1, b'.')\n"
               "    time.sleep(0.001)\n"
               "os.write(1, b'\\nend\\n')\n"};
  spec.timeout = 30s;
  int asked = 0;
  spec.should_stop = [&] {
    ++asked;
    return false;
  };
  auto result = run(spec);
  EXPECT_TRUE(result.ok());
  EXPECT_NE(result.output.find(std::string(300, '.') + "\nend"), std::string::npos) << result.output;
  EXPECT_LT(asked, 100);
}

#include "core/file_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "core/interrupt.h"

namespace gate {

FileLock::FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait, bool through_interrupt) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InfraError(fmt::format("cannot open lock {}: {}", path.string(), std::strerror(errno)));
  bool told = false;
  // Polled, not blocking: a wait of minutes must still end at Ctrl-C.
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int error = errno;
      ::close(fd_);
      throw InfraError(fmt::format("cannot lock {}: {}", path.string(), std::strerror(error)));
    }
    if (!told && on_wait) on_wait();
    told = true;
    try {
      if (!through_interrupt) interrupt::throw_if_requested();
    } catch (...) {
      ::close(fd_);
      throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace gate

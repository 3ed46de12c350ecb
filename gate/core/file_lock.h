#pragma once
// An exclusive advisory lock (flock) on a file, held while the object lives:
// gates sharing a cache take turns on what must not run twice at once (a
// mirror's fetch, a repository's publish). The kernel releases it when the
// process ends, however it ends.
#include <filesystem>
#include <functional>

namespace gate {

class FileLock {
 public:
  // Waits until the lock is held (the file and its folder are created);
  // `on_wait` is called once when another holder makes it wait. An
  // interrupt ends the wait (Interrupted) unless `through_interrupt` (a
  // clean-up that must run then, behind holders that are brief);
  // InfraError when it cannot lock.
  explicit FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait = {},
                    bool through_interrupt = false);
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  int fd_ = -1;
};

}  // namespace gate

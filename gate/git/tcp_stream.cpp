#include "git/tcp_stream.h"

#include <git2/sys/stream.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "git/libgit2.h"

namespace gate::git::detail {
namespace {

// `base` comes first: libgit2 holds a pointer to it.
struct TcpStream {
  git_stream base{};
  std::string host;
  std::string port;
  int fd = -1;
};

TcpStream* stream_of(git_stream* s) { return reinterpret_cast<TcpStream*>(s); }

// libgit2's wording for the same failures, with the system's reason.
void set_system_error(const std::string& what, int error) {
  git_error_set_str(GIT_ERROR_OS, fmt::format("{}: {}", what, std::strerror(error)).c_str());
}

void set_option(int fd, int option) {
  const int on = 1;
  // Best effort: without it the transfer is slower, not wrong.
  (void)::setsockopt(fd, IPPROTO_TCP, option, &on, sizeof on);
}

int connect_any(TcpStream* s) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(s->host.c_str(), s->port.c_str(), &hints, &found); rc != 0) {
    git_error_set_str(GIT_ERROR_NET,
                      fmt::format("failed to resolve address for {}: {}", s->host, ::gai_strerror(rc)).c_str());
    return -1;
  }
  int last_errno = 0;
  for (const addrinfo* at = found; at && s->fd < 0; at = at->ai_next) {
    const int fd = ::socket(at->ai_family, at->ai_socktype | SOCK_CLOEXEC, at->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int rc;
    do rc = ::connect(fd, at->ai_addr, at->ai_addrlen);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      s->fd = fd;
    } else {
      last_errno = errno;
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (s->fd < 0) {
    set_system_error("failed to connect to " + s->host, last_errno);
    return -1;
  }
  set_option(s->fd, TCP_NODELAY);
  return 0;
}

ssize_t read_some(git_stream* base, void* data, size_t size) {
  TcpStream* s = stream_of(base);
  set_option(s->fd, TCP_QUICKACK);
  ssize_t n;
  do n = ::recv(s->fd, data, size, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) set_system_error("could not read from " + s->host, errno);
  return n;
}

ssize_t write_all(git_stream* base, const char* data, size_t size, int) {
  TcpStream* s = stream_of(base);
  size_t done = 0;
  while (done < size) {
    // MSG_NOSIGNAL: a server that hung up is an error to report, not SIGPIPE.
    const ssize_t n = ::send(s->fd, data + done, size - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      set_system_error("could not write to " + s->host, errno);
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

int close_stream(git_stream* base) {
  TcpStream* s = stream_of(base);
  if (s->fd >= 0) ::close(s->fd);
  s->fd = -1;
  return 0;
}

void free_stream(git_stream* base) {
  close_stream(base);
  delete stream_of(base);
}

int new_stream(git_stream** out, const char* host, const char* port) {
  auto* s = new TcpStream;
  s->base.version = GIT_STREAM_VERSION;
  s->base.connect = [](git_stream* base) { return connect_any(stream_of(base)); };
  s->base.read = read_some;
  s->base.write = write_all;
  s->base.close = close_stream;
  s->base.free = free_stream;
  s->host = host;
  s->port = port;
  *out = &s->base;
  return 0;
}

}  // namespace

bool register_tcp_stream() {
  git_stream_registration registration{};
  registration.version = GIT_STREAM_VERSION;
  registration.init = new_stream;
  return git_stream_register(GIT_STREAM_STANDARD, &registration) == 0;
}

}  // namespace gate::git::detail

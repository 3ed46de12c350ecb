#include "git/stateless_git.h"

#include <git2/sys/transport.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "git/libgit2.h"

namespace gate::git::detail {
namespace {

// What smart HTTP answers before the refs, and what libgit2's RPC mode
// expects there: a service line and a flush.
constexpr std::string_view kServiceLine = "001e# service=git-upload-pack\n0000";

// One connection: libgit2's git subtransport, opened afresh for each
// request. `base` comes first: libgit2 holds a pointer to it.
struct Stream {
  git_smart_subtransport_stream base{};
  git_smart_subtransport* transport = nullptr;  // libgit2's git subtransport, this connection's alone
  git_smart_subtransport_stream* inner = nullptr;
  std::string pending;              // handed to libgit2 before the connection's own bytes
  bool skip_advertisement = false;  // a request after the listing: its refs were read already
};

Stream* as_stream(git_smart_subtransport_stream* s) { return reinterpret_cast<Stream*>(s); }

int read_stream(git_smart_subtransport_stream* s, char* buffer, size_t size, size_t* read) {
  Stream* stream = as_stream(s);
  if (!stream->pending.empty()) {
    *read = std::min(size, stream->pending.size());
    stream->pending.copy(buffer, *read);
    stream->pending.erase(0, *read);
    return 0;
  }
  return stream->inner->read(stream->inner, buffer, size, read);
}

// The length of the first pkt-line in `data` (4 for a flush), or 0 when it
// is not all there yet; -1 when it is no pkt-line.
long pkt_line_length(std::string_view data) {
  if (data.size() < 4) return 0;
  long length = 0;
  for (char c : data.substr(0, 4)) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return -1;
    length = length * 16 + digit;
  }
  if (length == 0) return 4;
  if (length < 4) return -1;
  return static_cast<size_t>(length) <= data.size() ? length : 0;
}

// Reads the server's ref advertisement up to its flush. The server says
// nothing more until it is asked, so nothing past the flush is lost.
int skip_advertisement(Stream* stream) {
  std::string seen;
  char chunk[65536];
  for (;;) {
    long length;
    while ((length = pkt_line_length(seen)) > 0) {
      const bool flush = length == 4 && seen.compare(0, 4, "0000") == 0;
      seen.erase(0, static_cast<size_t>(length));
      if (flush) {
        stream->pending = std::move(seen);
        return 0;
      }
    }
    if (length < 0) {
      git_error_set_str(GIT_ERROR_NET, "git://: the server's ref listing is not in pkt-line form");
      return -1;
    }
    size_t read = 0;
    if (int rc = stream->inner->read(stream->inner, chunk, sizeof chunk, &read); rc < 0) return rc;
    if (read == 0) {
      git_error_set_str(GIT_ERROR_NET, "git://: the server hung up before listing its refs");
      return -1;
    }
    seen.append(chunk, read);
  }
}

int write_stream(git_smart_subtransport_stream* s, const char* buffer, size_t length) {
  Stream* stream = as_stream(s);
  if (stream->skip_advertisement) {
    stream->skip_advertisement = false;
    if (int rc = skip_advertisement(stream); rc < 0) return rc;
  }
  return stream->inner->write(stream->inner, buffer, length);
}

void free_stream(git_smart_subtransport_stream* s) {
  Stream* stream = as_stream(s);
  // The stream before its subtransport: freeing it updates the subtransport.
  if (stream->inner) stream->inner->free(stream->inner);
  if (stream->transport) {
    stream->transport->close(stream->transport);
    stream->transport->free(stream->transport);
  }
  delete stream;
}

struct Subtransport {
  git_smart_subtransport base{};
  git_transport* owner = nullptr;
};

int open_action(git_smart_subtransport_stream** out, git_smart_subtransport* t, const char* url,
                git_smart_service_t service) {
  if (service != GIT_SERVICE_UPLOADPACK_LS && service != GIT_SERVICE_UPLOADPACK) {
    git_error_set_str(GIT_ERROR_NET, "git://: gate only fetches over this transport");
    return -1;
  }
  auto* stream = new Stream;
  stream->base.subtransport = t;
  stream->base.read = read_stream;
  stream->base.write = write_stream;
  stream->base.free = free_stream;
  auto* self = reinterpret_cast<Subtransport*>(t);
  int rc = git_smart_subtransport_git(&stream->transport, self->owner, nullptr);
  if (rc == 0) rc = stream->transport->action(&stream->inner, stream->transport, url, GIT_SERVICE_UPLOADPACK_LS);
  if (rc < 0) {
    free_stream(&stream->base);
    return rc;
  }
  if (service == GIT_SERVICE_UPLOADPACK_LS)
    stream->pending = kServiceLine;
  else
    stream->skip_advertisement = true;
  *out = &stream->base;
  return 0;
}

// Streams own their connections; libgit2 frees each before the next action.
int close_subtransport(git_smart_subtransport*) { return 0; }

void free_subtransport(git_smart_subtransport* t) { delete reinterpret_cast<Subtransport*>(t); }

int make_subtransport(git_smart_subtransport** out, git_transport* owner, void*) {
  auto* t = new Subtransport;
  t->base.action = open_action;
  t->base.close = close_subtransport;
  t->base.free = free_subtransport;
  t->owner = owner;
  *out = &t->base;
  return 0;
}

int make_transport(git_transport** out, git_remote* owner, void*) {
  static git_smart_subtransport_definition definition = {make_subtransport, /*rpc=*/1, nullptr};
  return git_transport_smart(out, owner, &definition);
}

}  // namespace

int register_stateless_git() { return git_transport_register("git", make_transport, nullptr); }

}  // namespace gate::git::detail

#pragma once
// git:// spoken one request per connection, the way smart HTTP is, so that
// libgit2 1.8 can fetch at depth 1 from it.
//
// libgit2 1.8's shallow negotiation is right only in its stateless (RPC)
// mode: on a stateful connection (git://, ssh) it sends its wants a second
// time after the deepen round, and git upload-pack hangs up ("expected SHA1
// list", libgit2 #6889). Registered for git://, this transport drives
// libgit2's own git subtransport in RPC mode: every request of the
// negotiation opens a connection of its own, the server's ref advertisement
// on it is skipped, and the request is answered as a stateless server would
// answer it (upload-pack serves one complete request the same either way).
// Each extra connection costs a git daemon fork and its ref advertisement:
// tens of milliseconds, against a whole history not transferred.
namespace gate::git::detail {

// Registers the transport for git:// URLs. Once per process, after
// git_libgit2_init and before any remote is created; returns libgit2's code.
int register_stateless_git();

}  // namespace gate::git::detail

#pragma once
// git:// for libgit2 1.8 at depth 1: its stateless negotiation, carried over
// git daemon's stateful connection.
//
// libgit2 1.8's shallow negotiation is right only in its stateless (RPC)
// mode, the one smart HTTP uses: on a stateful connection (git://, ssh) it
// sends its wants a second time after the deepen round, and upload-pack
// hangs up ("expected SHA1 list", libgit2 #6889). Registered for git://,
// this transport runs libgit2's own git subtransport with libgit2 in RPC
// mode. Every RPC request repeats the wants section of the first one (the
// wants, shallow and deepen lines up to their flush); on the one connection
// that the server already holds them for, the repeat is cut off, so the
// server sees the ordinary stateful conversation. A request that starts a
// new negotiation, or one after the server has finished (sent its pack or
// hung up), goes on a new connection whole, its ref advertisement skipped:
// upload-pack answers one complete request there as a stateless one would.
namespace gate::git::detail {

// Registers the transport for git:// URLs. Once per process, after
// git_libgit2_init and before any remote is created. False when libgit2
// refused: git:// is then libgit2's own, which must not be asked for depth.
bool register_stateless_git();

}  // namespace gate::git::detail

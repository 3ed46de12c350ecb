#pragma once
// libgit2's TCP connections (git://, http://, and under TLS https://), made
// by gate so that neither end of the conversation waits on the other's
// delayed acknowledgement.
//
// libgit2 1.8's own socket stream leaves Nagle's algorithm on and the
// kernel's delayed ACK as it is. Exchanges of a fetch then stall ~40 ms
// each, waiting for an ACK the other side holds back (measured on loopback,
// bench/README "checkout"):
// - over HTTP, libgit2 writes each POST's headers and its body apart; the body
//   waits for the ACK of the headers, which the server delays while it
//   waits for the body. TCP_NODELAY sends it at once (curl, and so git's
//   own HTTP, sets TCP_NODELAY by default).
// - over git://, upload-pack writes its shallow lines and their flush
//   apart, without TCP_NODELAY; the flush waits for the ACK of the lines,
//   which the client delays. TCP_QUICKACK before every read acknowledges
//   at once (the kernel clears it again as it sees fit, hence each read).
// Not for ssh://: libgit2's ssh transport takes the socket out of its own
// stream's private struct (GIT_CONTAINER_OF), which this stream is not.
// Reads and writes block: the `gate __fetch` child that makes them is
// killed at its deadline (mirror.h), so libgit2's per-read time-outs, which
// gate does not set, are not implemented.
namespace gate::git::detail {

// Registers the stream as libgit2's standard (TCP) stream, for the rest of
// the process: call it in a `gate __fetch` child whose URL is git://,
// http:// or https://, after git_libgit2_init. False when libgit2 refused
// it: its own stream is used then, which is only slower.
bool register_tcp_stream();

}  // namespace gate::git::detail

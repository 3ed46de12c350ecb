#pragma once
// Updating a bare mirror of a consumer repository by fetch: the one ref a run
// wants, at depth 1, never the remote's other refs (thousands of pull
// requests, some of them broken, cost nothing).
//
// The fetch runs in a child process (`gate __fetch`) that the parent kills at
// its deadline; fetch_mirror() is what that child does. libgit2 1.8's own
// GIT_OPT_SET_SERVER_TIMEOUT bounds each read, not the transfer: a server
// that trickles a byte a second never trips it (test_checkout shows the
// deadline holding there), so it is not used.
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace gate::git {

struct FetchRequest {
  std::filesystem::path mirror;
  std::string url;
  // Credentials for the server (a URL's userinfo, or token_user and the
  // token of token_env), passed on the child's stdin: never in the URL stored
  // in the mirror's config, the command line or the environment, all of which
  // other processes of the user can read.
  std::string user;
  std::string password;
  std::string ref;         // branch, tag, refs/..., full or abbreviated commit; empty = default branch
  bool list_tags = false;  // fetch nothing: print the remote's tags ("tag <name>" lines)
};

// libgit2's one-time set-up (its TLS layer reads the system's CA bundle,
// ~5-8 ms) on a thread of its own, started as soon as the command is known
// so that it overlaps the work before the first checkout; waits for it when
// destroyed (keep it in main's scope).
class Warmup {
 public:
  Warmup();
  ~Warmup();
  Warmup(const Warmup&) = delete;
  Warmup& operator=(const Warmup&) = delete;

 private:
  std::thread thread_;
};

// "https://user:secret@host/x.git" -> the URL without its userinfo, the user
// and the password (both empty when there is none).
struct UrlUserinfo {
  std::string url;
  std::string user;
  std::string password;
};
UrlUserinfo split_userinfo(const std::string& url);

// Exit codes of `gate __fetch`, read by the parent.
enum class FetchStatus : int {
  ok = 0,
  failed = 3,    // network, server, bad URL
  corrupt = 4,   // the mirror is damaged: discard it and clone again
  rejected = 5,  // the credential was refused
  no_ref = 6,    // the remote has no such branch, tag or ref, and it is no commit id
};

// What a fetch found: the revision to check out (an object id, or the ref
// itself when it is a commit id), or the remote's tags (list_tags), or why
// it failed.
struct FetchAnswer {
  std::string resolved;
  std::vector<std::string> tags;
  bool listed = false;
  std::string problem;  // one line, secrets redacted
};

// Creates the mirror if needed and fetches the wanted ref at depth 1 (nothing
// when the mirror already has the object it names). Run in the `gate
// __fetch` child for remote repositories, in gate itself for a local one
// whose mirror is there (no server can stall, and a child start is most of
// such a fetch's time).
FetchStatus fetch_mirror(const FetchRequest& request, FetchAnswer& answer);

// The child's side: fetch_mirror, its answer printed for the parent
// ("tag NAME" lines and "listed", or "resolved REVISION"; the problem on
// stderr). Returns the exit code.
int fetch_mirror_child(const FetchRequest& request);

}  // namespace gate::git

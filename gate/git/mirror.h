#pragma once
// Updating a bare mirror of a consumer repository by fetch.
//
// libgit2 1.5 has no network timeouts, so the fetch runs in a child process
// (`gate __fetch`) that the parent kills at its deadline; fetch_mirror() is
// what that child does.
#include <filesystem>
#include <string>

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
  bool want_default_branch = false;
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
};

// Creates the mirror if needed and fetches every ref (+refs/*:refs/*, pruned).
// Prints the remote's default branch on stdout when asked; problems on stderr.
FetchStatus fetch_mirror(const FetchRequest& request);

}  // namespace gate::git

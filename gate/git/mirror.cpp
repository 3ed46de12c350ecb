#include "git/mirror.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "core/encoding.h"
#include "core/log.h"
#include "git/libgit2.h"

namespace gate::git {
namespace detail {

void ensure_initialised() {
  static const int initialised = git_libgit2_init();
  (void)initialised;
}

std::string last_error() {
  const git_error* error = git_error_last();
  return error && error->message ? error->message : "unknown libgit2 error";
}

int last_error_class() {
  const git_error* error = git_error_last();
  return error ? error->klass : 0;
}

std::string oid_hex(const git_oid* oid) {
  char hex[GIT_OID_HEXSZ + 1] = {0};
  git_oid_tostr(hex, sizeof hex, oid);
  return hex;
}

}  // namespace detail

namespace {

using namespace detail;

struct CredentialState {
  std::string user;
  std::string token;
  int attempts = 0;
};

// libgit2 asks again for as long as the server refuses: answer once only.
int on_credentials(git_credential** out, const char*, const char*, unsigned int allowed, void* payload) {
  auto* state = static_cast<CredentialState*>(payload);
  if (state->token.empty() || !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
    git_error_set_str(GIT_ERROR_NET,
                      "the server asks for credentials and none are configured (token_env, or user:token@ in the URL)");
    return GIT_EUSER;
  }
  if (++state->attempts > 1) {
    git_error_set_str(GIT_ERROR_NET, "the server refused the token");
    return GIT_EUSER;
  }
  return git_credential_userpass_plaintext_new(out, state->user.c_str(), state->token.c_str());
}

bool is_corruption(int klass) {
  return klass == GIT_ERROR_ODB || klass == GIT_ERROR_ZLIB || klass == GIT_ERROR_INDEXER || klass == GIT_ERROR_OBJECT ||
         klass == GIT_ERROR_REPOSITORY || klass == GIT_ERROR_REFERENCE || klass == GIT_ERROR_CONFIG;
}

FetchStatus fail(const std::string& what, const CredentialState& creds) {
  int klass = last_error_class();
  std::fprintf(stderr, "%s: %s\n", what.c_str(), log::redact(last_error()).c_str());
  if (creds.attempts > 1) return FetchStatus::rejected;
  return is_corruption(klass) ? FetchStatus::corrupt : FetchStatus::failed;
}

}  // namespace

UrlUserinfo split_userinfo(const std::string& url) {
  UrlUserinfo out{url, "", ""};
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return out;
  auto at = url.find('@', scheme + 3);
  auto slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return out;
  std::string userinfo = url.substr(scheme + 3, at - scheme - 3);
  auto colon = userinfo.find(':');
  out.user = core::percent_decode(userinfo.substr(0, colon));
  if (colon != std::string::npos) out.password = core::percent_decode(userinfo.substr(colon + 1));
  out.url = url.substr(0, scheme + 3) + url.substr(at + 1);
  return out;
}

FetchStatus fetch_mirror(const FetchRequest& request) {
  ensure_initialised();
  CredentialState creds;
  creds.user = request.user;
  creds.token = request.password;
  log::add_secret(creds.token);

  git_repository* raw_repo = nullptr;
  if (git_repository_open_bare(&raw_repo, request.mirror.c_str()) != 0) {
    if (std::filesystem::exists(request.mirror)) return fail("open mirror " + request.mirror.string(), creds);
    if (git_repository_init(&raw_repo, request.mirror.c_str(), /*is_bare=*/1) != 0) {
      return fail("create mirror " + request.mirror.string(), creds);
    }
  }
  RepositoryPtr repo(raw_repo);
  git_remote* raw_remote = nullptr;
  if (git_remote_lookup(&raw_remote, repo.get(), "origin") != 0) {
    if (git_remote_create_with_fetchspec(&raw_remote, repo.get(), "origin", request.url.c_str(), "+refs/*:refs/*") !=
        0) {
      return fail("configure remote", creds);
    }
  } else if (request.url != git_remote_url(raw_remote)) {
    // A mirror made before URLs were stored without their userinfo.
    git_remote_free(raw_remote);
    raw_remote = nullptr;
    if (git_remote_set_url(repo.get(), "origin", request.url.c_str()) != 0 ||
        git_remote_lookup(&raw_remote, repo.get(), "origin") != 0) {
      return fail("configure remote", creds);
    }
  }
  RemotePtr remote(raw_remote);

  git_fetch_options options;
  git_fetch_options_init(&options, GIT_FETCH_OPTIONS_VERSION);
  options.prune = GIT_FETCH_PRUNE;
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
  options.callbacks.credentials = on_credentials;
  options.callbacks.payload = &creds;

  if (request.want_default_branch) {
    if (git_remote_connect(remote.get(), GIT_DIRECTION_FETCH, &options.callbacks, nullptr, nullptr) != 0) {
      return fail("connect", creds);
    }
    git_buf branch = GIT_BUF_INIT;
    if (git_remote_default_branch(&branch, remote.get()) == 0) {
      std::printf("default-branch %s\n", branch.ptr);
      git_buf_dispose(&branch);
    }
    git_remote_disconnect(remote.get());
    creds.attempts = 0;
  }
  if (git_remote_fetch(remote.get(), nullptr, &options, "gate: fetch") != 0) return fail("fetch", creds);
  std::fflush(stdout);
  return FetchStatus::ok;
}

}  // namespace gate::git

#include "git/mirror.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/log.h"
#include "git/ca_bundle.h"
#include "git/libgit2.h"
#include "git/stateless_git.h"
#include "git/tcp_stream.h"

namespace gate::git {
namespace detail {

namespace {
bool g_stateless_git = false;  // git:// goes through stateless_git.h
}  // namespace

void ensure_initialised() {
  static const int initialised = [] {
    const int rc = git_libgit2_init();
    g_stateless_git = register_stateless_git();
    return rc;
  }();
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

Warmup::Warmup() : thread_([] { detail::ensure_initialised(); }) {}
Warmup::~Warmup() { thread_.join(); }

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

FetchStatus fail(const std::string& what, const CredentialState& creds, FetchAnswer& answer) {
  int klass = last_error_class();
  answer.problem = what + ": " + log::redact(last_error());
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

namespace {

bool is_hex_id(const std::string& ref) {
  if (ref.size() < 4 || ref.size() > GIT_OID_HEXSZ) return false;
  return ref.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// git://, http:// or https://. Not ssh: libgit2's ssh transport hands
// libssh2 the socket it finds in libgit2's own stream's private struct,
// which gate's stream (tcp_stream.h) is not.
bool url_is_plain_tcp(const std::string& url) {
  return url.rfind("git://", 0) == 0 || url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

// Depth 1 where libgit2 1.8 can: smart HTTP(S), the transport of hosting
// services, and git:// when it is spoken statelessly (stateless_git.h).
// Over ssh, and libgit2's own git:// (stateful), it resends its wants
// mid-negotiation and the server hangs up ("expected SHA1 list", libgit2
// #6889, git2-rs #1084); the local transport refuses depth. There the
// wanted ref is fetched with its history (still that ref alone).
int depth_for(const std::string& url) {
  const bool shallow = url_is_plain_tcp(url) && (g_stateless_git || url.rfind("git://", 0) != 0);
  return shallow ? 1 : GIT_FETCH_DEPTH_FULL;
}

bool has_object(git_repository* repo, const git_oid* oid) {
  git_odb* raw = nullptr;
  if (git_repository_odb(&raw, repo) != 0) return false;
  bool found = git_odb_exists(raw, oid) == 1;
  git_odb_free(raw);
  return found;
}

// The advertised ref a request names: branch, tag, then a full ref name
// (or HEAD, which the remote advertises too).
const git_remote_head* find_advertised(const git_remote_head** heads, size_t count, const std::string& ref) {
  for (const std::string& candidate :
       {"refs/heads/" + ref, "refs/tags/" + ref, ref.rfind("refs/", 0) == 0 || ref == "HEAD" ? ref : std::string()}) {
    if (candidate.empty()) continue;
    for (size_t i = 0; i < count; ++i)
      if (candidate == heads[i]->name) return heads[i];
  }
  return nullptr;
}

int fetch_refspecs(git_remote* remote, const std::vector<std::string>& specs, git_fetch_options& options) {
  std::vector<char*> raw;
  for (const auto& spec : specs) raw.push_back(const_cast<char*>(spec.c_str()));
  git_strarray array{raw.data(), raw.size()};
  // Download on the connection already open (the refs were listed on it),
  // then write the refs: what git_remote_fetch does, without reconnecting.
  if (int rc = git_remote_download(remote, &array, &options); rc != 0) return rc;
  return git_remote_update_tips(remote, &options.callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE, "gate: fetch");
}

}  // namespace

namespace {

// A commit id: commits never change, so one the mirror has needs no fetch.
// Else, by the remote ref pointing at it, or by id where the server allows
// that; servers that do not (git daemon's default) send only what their refs
// reach: then every branch and tag, with their history, to find it in.
bool fetch_commit_id(git_repository* repo, git_remote* remote, const git_remote_head** heads, size_t count,
                     const std::string& id, int depth, git_fetch_options& options) {
  git_object* found = nullptr;
  if (git_revparse_single(&found, repo, id.c_str()) == 0) {
    git_object_free(found);
    return true;
  }
  if (id.size() == GIT_OID_HEXSZ) {
    options.depth = depth;
    for (size_t i = 0; i < count; ++i)
      if (oid_hex(&heads[i]->oid) == id)
        return fetch_refspecs(remote, {fmt::format("+{0}:{0}", heads[i]->name)}, options) == 0;
    if (fetch_refspecs(remote, {fmt::format("+{0}:refs/gate/commits/{0}", id)}, options) == 0) return true;
  }
  options.depth = git_repository_is_shallow(repo) ? GIT_FETCH_DEPTH_UNSHALLOW : GIT_FETCH_DEPTH_FULL;
  return fetch_refspecs(remote, {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}, options) == 0;
}

// The remote's tags.
FetchStatus list_tags(const git_remote_head** heads, size_t count, FetchAnswer& answer) {
  for (size_t i = 0; i < count; ++i) {
    std::string_view name = heads[i]->name;
    if (name.rfind("refs/tags/", 0) != 0 || name.ends_with("^{}")) continue;  // a tag once, not its peeled twin
    answer.tags.emplace_back(name.substr(10));
  }
  answer.listed = true;
  return FetchStatus::ok;
}

}  // namespace

FetchStatus fetch_mirror(const FetchRequest& request, FetchAnswer& answer) {
  ensure_initialised();
  // gate's TCP stream where libgit2's transport only reads and writes it
  // (tcp_stream.h); if refused, libgit2's own: slower, not wrong.
  if (url_is_plain_tcp(request.url)) register_tcp_stream();
  if (request.url.rfind("https://", 0) == 0 && !load_ca_bundle()) {
    answer.problem = "cannot read the CA bundle ($SSL_CERT_FILE, or the system's) to verify the server";
    return FetchStatus::failed;
  }
  CredentialState creds;
  creds.user = request.user;
  creds.token = request.password;
  log::add_secret(creds.token);

  git_repository* raw_repo = nullptr;
  if (git_repository_open_bare(&raw_repo, request.mirror.c_str()) != 0) {
    if (std::filesystem::exists(request.mirror)) return fail("open mirror " + request.mirror.string(), creds, answer);
    if (git_repository_init(&raw_repo, request.mirror.c_str(), /*is_bare=*/1) != 0) {
      return fail("create mirror " + request.mirror.string(), creds, answer);
    }
  }
  RepositoryPtr repo(raw_repo);
  // Anonymous: no configured refspec (mirrors of older gates have
  // +refs/*:refs/*), only the one this fetch names.
  git_remote* raw_remote = nullptr;
  if (git_remote_create_anonymous(&raw_remote, repo.get(), request.url.c_str()) != 0)
    return fail("configure remote", creds, answer);
  RemotePtr remote(raw_remote);

  git_fetch_options options;
  git_fetch_options_init(&options, GIT_FETCH_OPTIONS_VERSION);
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  options.callbacks.credentials = on_credentials;
  options.callbacks.payload = &creds;
  if (git_remote_connect(remote.get(), GIT_DIRECTION_FETCH, &options.callbacks, nullptr, nullptr) != 0)
    return fail("connect", creds, answer);
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  if (git_remote_ls(&heads, &count, remote.get()) != 0) return fail("list the remote's refs", creds, answer);
  if (request.list_tags) return list_tags(heads, count, answer);

  std::string ref = request.ref;
  if (ref.empty()) {
    git_buf branch = GIT_BUF_INIT;
    if (git_remote_default_branch(&branch, remote.get()) != 0) {
      answer.problem = "the repository has no default branch; set ref";
      return FetchStatus::no_ref;
    }
    ref = branch.ptr;
    git_buf_dispose(&branch);
  }

  if (const git_remote_head* head = find_advertised(heads, count, ref)) {
    // Kept under the same name; the remote's HEAD under refs/gate/, so as
    // not to replace the mirror's own.
    const std::string local = std::string(head->name) == "HEAD" ? "refs/gate/remote-HEAD" : head->name;
    // Already here (the tip did not move, or a tag seen before): no transfer.
    if (!has_object(repo.get(), &head->oid)) {
      options.depth = depth_for(request.url);
      if (fetch_refspecs(remote.get(), {fmt::format("+{}:{}", head->name, local)}, options) != 0)
        return fail("fetch " + std::string(head->name), creds, answer);
    } else {
      git_reference* updated = nullptr;
      if (git_reference_create(&updated, repo.get(), local.c_str(), &head->oid, 1, "gate: seen") == 0)
        git_reference_free(updated);
    }
    answer.resolved = oid_hex(&head->oid);
    return FetchStatus::ok;
  }
  if (!is_hex_id(ref)) {
    answer.problem = fmt::format("ref '{}' not found (no such branch, tag or commit)", ref);
    return FetchStatus::no_ref;
  }
  if (!fetch_commit_id(repo.get(), remote.get(), heads, count, ref, depth_for(request.url), options))
    return fail("fetch", creds, answer);
  answer.resolved = ref;
  return FetchStatus::ok;
}

int fetch_mirror_child(const FetchRequest& request) {
  FetchAnswer answer;
  const FetchStatus status = fetch_mirror(request, answer);
  for (const auto& tag : answer.tags) std::printf("tag %s\n", tag.c_str());
  if (answer.listed) std::printf("listed\n");
  if (!answer.resolved.empty()) std::printf("resolved %s\n", answer.resolved.c_str());
  std::fflush(stdout);
  if (!answer.problem.empty()) std::fprintf(stderr, "%s\n", answer.problem.c_str());
  return static_cast<int>(status);
}

}  // namespace gate::git

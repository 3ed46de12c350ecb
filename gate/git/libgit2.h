#pragma once
// Shared by the git module's implementation files only: owners for libgit2
// handles and its error text. Nothing outside gate/git includes git2.h.
#include <git2.h>
#include <git2/sys/errors.h>  // git_error_set_str (moved there in libgit2 1.8)

#include <memory>
#include <string>

#include "core/error.h"

namespace gate::git::detail {

void ensure_initialised();

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using RepositoryPtr = std::unique_ptr<git_repository, Deleter<git_repository, git_repository_free>>;
using RemotePtr = std::unique_ptr<git_remote, Deleter<git_remote, git_remote_free>>;
using ObjectPtr = std::unique_ptr<git_object, Deleter<git_object, git_object_free>>;
using TreePtr = std::unique_ptr<git_tree, Deleter<git_tree, git_tree_free>>;
using TreeEntryPtr = std::unique_ptr<git_tree_entry, Deleter<git_tree_entry, git_tree_entry_free>>;
using BlobPtr = std::unique_ptr<git_blob, Deleter<git_blob, git_blob_free>>;
using ConfigPtr = std::unique_ptr<git_config, Deleter<git_config, git_config_free>>;
using CommitPtr = std::unique_ptr<git_commit, Deleter<git_commit, git_commit_free>>;
using DiffPtr = std::unique_ptr<git_diff, Deleter<git_diff, git_diff_free>>;

// The message of the last libgit2 error on this thread.
std::string last_error();
// Its class (GIT_ERROR_NET, GIT_ERROR_ODB, ...), or 0.
int last_error_class();

std::string oid_hex(const git_oid* oid);

// Objects of a mirror could not be read: the mirror is discarded and fetched
// again once.
class DamagedMirror : public InfraError {
 public:
  using InfraError::InfraError;
};

}  // namespace gate::git::detail

#pragma once
// Secrets gate reads from its environment (the registry password, repository
// tokens) are readable by any process of the same user in
// /proc/<gate's pid>/environ, which shows the environment block gate was
// started with, whatever setenv/unsetenv did since. keep_private() moves a
// variable's value out of that block (gate's own getenv still finds it) and
// wipes the original bytes, so a consumer that reads its parent's environ
// finds nothing.
#include <string>

namespace gate::core {

// Also marks the name private: children that inherit gate's environment
// (docker, git helpers) get it without these variables.
void keep_private(const std::string& name);
bool is_private(const std::string& name);

}  // namespace gate::core

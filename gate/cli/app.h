#pragma once
// The command line: one table of subcommands, one place that turns errors
// into "gate: error: ..." and an exit code.

namespace gate::cli {

int main(int argc, char** argv);

}  // namespace gate::cli

#include "cli/app.h"

int main(int argc, char** argv) { return gate::cli::main(argc, argv); }

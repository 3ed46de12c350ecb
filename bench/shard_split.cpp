// shard_split DURATIONS.json SHARDS: gate's split of the tests in
// DURATIONS.json ({"test": seconds, ...}, collection order = key order in a
// list form [["test", seconds], ...]) into SHARDS, printed as one load per line.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "suite/shard_plan.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: shard_split DURATIONS.json SHARDS\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  auto list = nlohmann::json::parse(in);
  std::vector<std::string> tests;
  std::map<std::string, double> durations;
  for (const auto& entry : list) {
    tests.push_back(entry[0].get<std::string>());
    durations[tests.back()] = entry[1].get<double>();
  }
  auto bins = gate::suite::balance(gate::suite::make_items(tests, gate::suite::prices_in(durations, tests), {}),
                                   std::stoul(argv[2]));
  for (const auto& bin : bins) std::cout << gate::suite::total_estimate(bin) << "\n";
  return 0;
}

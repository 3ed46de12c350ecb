#pragma once
// The decision over consumers' results, shared by a run and by the fan-in
// (merge): pass only if every consumer passed.
#include "report/model.h"

namespace gate::pipeline {

void decide(report::Verdict& verdict);

}  // namespace gate::pipeline

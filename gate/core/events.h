#pragma once
// The run's event log (events.jsonl): stages, batches, containers, each with
// its time since the run started. Kept in memory and written once, with the
// reports (at the end, also after an interrupt): no file write, let alone an
// fsync, while the timings it records are being taken.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace gate::events {

// Adds `event` (an object) with "t": seconds since the process started.
void record(nlohmann::json event);
// Seconds since the process started (the events' clock).
double now();
// Writes every event so far as one JSON object per line; returns how many.
size_t write(const std::filesystem::path& file);
// Every event so far, as a JSON array.
nlohmann::json snapshot();
// Off when GATE_NO_EVENTS is set (for measuring the recording's own cost).
bool enabled();

}  // namespace gate::events

#pragma once
// Checkpoints of a run (private to src/train; the format and its guarantees: docs/checkpoints.md).
//
// D/round-<R>/ holds one checkpoint, taken after round R (its aggregation, level choice and
// logged row): clients-rank<r>.bin from every rank r (that rank's clients, one record each:
// random streams, compressor workspace, oracle, method state; with --aggregation sharded
// also the rank's server state), and manifest.bin from rank 0, written last: the format
// version, the resolved config, the data fingerprint and the build, the model, the server
// and replica states, the shared factor, the levels, the history and counters, and each rank
// file's size and CRC-32. Every file is written to a temporary name, fsynced and renamed;
// the directory is assembled as round-<R>.partial and renamed once the manifest is in it,
// so a crash at any point leaves the earlier checkpoints intact.
#include <cstdint>
#include <string>
#include <vector>

#include "ecco/trainer.hpp"
#include "train/checkpoint_format.hpp"
#include "train/run_state.hpp"
#include "train/transport.hpp"

namespace ecco::detail {

// Collective: writes the checkpoint of progress.round under options.dir and removes all but
// the newest options.keep. Returns its directory. Throws AgreedRunError on every process
// when any process failed to write (the earlier checkpoints stay as they were).
std::string write_checkpoint(const CheckpointOptions& options, RunState& state, const RunProgress& progress,
                             Transport& transport);

// Collective: finds the newest usable checkpoint in dir (rank 0 checks every file's size and
// checksum, and the config, data and build against this run; unusable ones are skipped and
// described in `skipped`), loads this process's clients and the shared state into `state`
// (whose methods exist) and returns the progress. Throws SetupFailure-like AgreedRunError on
// every process when none is usable, naming why for the newest.
RunProgress load_checkpoint(const std::string& dir, RunState& state, Transport& transport,
                            std::vector<std::string>& skipped);

}  // namespace ecco::detail

#pragma once
// The command line of ecco-train.
#include <string>

#include "ecco/trainer.hpp"

namespace ecco {

struct CommandLine {
  RunConfig config;
  std::string out;      // CSV path; empty: no CSV
  std::string summary;  // JSON summary path; empty: none
  bool quiet = false;   // no banner, progress or summary paragraph
  CheckpointOptions checkpoint;  // --checkpoint-dir, --checkpoint-every, --checkpoint-keep, --resume
  double round_timeout = 0.0;    // --round-timeout (seconds, 0: none)
  // No --data, or --data fashion_mnist[:...]: the default job's flags filled in where the
  // command line gives none (and none conflicts); default_flags lists the ones applied.
  bool default_job = false;
  std::string default_flags;
  bool print_constants = false;
  bool plan = false;  // --plan: predict instead of running (apps/plan.hpp)
  std::string log_level = "info";
  bool compressor_given = false;       // --compressor was on the command line
  bool down_compressor_given = false;  // --down-compressor was on the command line
  bool show_help = false;
  bool show_list = false;
  bool show_version = false;
  std::string help_text;
};

// Parses argv; ConfigError with one line naming the flag and what is allowed on bad input.
// Spec strings are checked later, by the set-up (which knows the data).
CommandLine parse_command_line(int argc, const char* const* argv);

// The text of --list: every registry table with keys, defaults and meanings.
std::string list_text();

}  // namespace ecco

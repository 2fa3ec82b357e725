// ecco-train: the training binary. Run under mpirun; rank 0 is the server and writes the
// CSV and the summary; every rank logs to stderr with its rank in each line.
#include <chrono>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <thread>

#include "console.hpp"
#include "stop_signals.hpp"
#include "plan.hpp"
#include "ecco/command_line.hpp"
#include "ecco/communicator.hpp"
#include "ecco/log.hpp"
#include "ecco/trainer.hpp"
#include "ecco/build_info.hpp"
#include "ecco/version.hpp"

// --round-timeout's watchdog thread talks MPI (heartbeats), so it is looked for before MPI
// starts (the command line is parsed after).
bool wants_round_timeout(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--round-timeout" || arg.rfind("--round-timeout=", 0) == 0) return true;
  }
  return false;
}

// The exit of a failure or stop that every rank agreed on: each rank has printed what it
// prints (warnings and errors flush at once) and waits for the others before it exits, so
// that mpirun, which kills the job when the first rank exits non-zero, cannot cut off rank
// 0's last lines (or its outputs) while it still writes them.
int agreed_exit(const ecco::Communicator& world, int status) {
  try {
    world.barrier();
  } catch (const std::exception&) {
    // A lost rank: nothing left to wait for.
  }
  return status;
}

int main(int argc, char** argv) {
  ecco::MpiEnvironment mpi(argc, argv, wants_round_timeout(argc, argv));
  const ecco::Communicator world(MPI_COMM_WORLD);
  ecco::init_logging(world.rank(), world.size());

  // Command-line errors happen identically on every rank: rank 0 reports them.
  ecco::CommandLine cl;
  try {
    cl = ecco::parse_command_line(argc, argv);
    ecco::init_logging(world.rank(), world.size(), cl.log_level);
  } catch (const std::exception& e) {
    if (world.rank() == 0) ecco::log().error("{}", e.what());
    return agreed_exit(world, 2);
  }
  if (cl.show_help || cl.show_version || cl.show_list) {
    if (world.rank() == 0) {
      const std::string text = cl.show_help   ? cl.help_text
                               : cl.show_list ? ecco::list_text()
                                              : std::string("ecco-train ") + ecco::version() + "\nbuild: " +
                                                    ecco::build_info().description() + "\n";
      std::printf("%s", text.c_str());
    }
    return 0;
  }

  if (cl.plan) {
    try {
      return ecco::app::run_plan(cl, world);
    } catch (const std::exception& e) {
      ecco::log().error("{}", e.what());
      if (world.size() > 1) world.abort(1);
      return 1;
    }
  }

  ecco::app::ConsoleObserver console(cl);
  ecco::RunOptions options;
  options.compute_constants = cl.print_constants;
  options.observer = &console;
  options.checkpoint = cl.checkpoint;
  options.round_timeout = cl.round_timeout;
  ecco::app::install_stop_signals(ecco::app::remove_unfinished_outputs);
  options.stop_signal = ecco::app::stop_signal();
  try {
    const ecco::RunResult result = ecco::run_mpi(cl.config, world, options);
    if (result.interrupted_by != 0) {
      if (world.rank() == 0) ecco::log().warn("{}", result.stop_reason);
      if (world.rank() == 0 && !result.checkpoint_written.empty()) {
        ecco::log().warn("continue with the same flags and --resume {}", cl.checkpoint.dir);
      }
      return agreed_exit(world, 128 + result.interrupted_by);
    }
  } catch (const ecco::SetupFailure& e) {
    // Bad input (flag, spec, data, output path): every rank got here, before round 1.
    // The default job's flags may be what conflicts with the user's: name them.
    if (e.report() && !cl.default_flags.empty()) {
      ecco::log().error("{} (default-job flags in effect: {}; give a flag to replace its default)", e.what(),
                        cl.default_flags);
    } else if (e.report()) {
      ecco::log().error("{}", e.what());
    }
    return agreed_exit(world, 2);
  } catch (const ecco::RoundFailure& e) {
    // Agreed by every rank at the end of the round: nobody waits, no abort needed. A
    // divergence keeps the rows before it (the observer wrote the CSV and the summary).
    if (e.report()) ecco::log().error("{}", e.what());
    if (!e.numeric() || !console.finished()) console.abandon();
    if (world.rank() == 0 && e.numeric() && !cl.checkpoint.dir.empty()) {
      ecco::log().warn("the checkpoints in {} are from before the failure; --resume {} continues from the newest",
                       cl.checkpoint.dir, cl.checkpoint.dir);
    }
    return agreed_exit(world, 1);
  } catch (const ecco::AgreedRunError& e) {
    // Bad input found by every rank together during the rounds: nobody waits.
    if (e.report()) ecco::log().error("{}", e.what());
    console.abandon();
    return agreed_exit(world, 2);
  } catch (const std::bad_alloc&) {
    // Out of memory after set-up (whose estimate refuses runs that cannot fit): one clear line.
    ecco::log().error("out of memory during the run (std::bad_alloc): this process could not allocate its clients' "
                      "states and buffers; use more hosts, fewer clients per rank or a smaller model");
    console.abandon();
    if (world.size() > 1) world.abort(1);
    return 1;
  } catch (const ecco::CommError& e) {
    // An MPI call failed, most often because a peer process was lost (killed, its host
    // gone). mpirun names a killed process when it notices it, unless another process exits
    // first: wait a little so that its line, not this abort, is the one the user sees.
    ecco::log().error("{}", e.what());
    console.abandon();
    if (world.size() > 1) {
      std::this_thread::sleep_for(std::chrono::seconds(3));
      world.abort(1);
    }
    return 1;
  } catch (const std::exception& e) {
    // A failure during the rounds: other ranks may wait in a collective, so abort them.
    ecco::log().error("{}", e.what());
    console.abandon();
    if (world.size() > 1) world.abort(1);
    return 1;
  }
  return 0;
}

#include "ecco/communicator.hpp"
#include "ecco/trainer.hpp"
#include "train/run_state.hpp"
#include "train/transports.hpp"

namespace ecco {

RunResult run_serial(const RunConfig& config, const RunOptions& options) {
  detail::SerialTransport transport;
  return detail::run_with(config, transport, options, detail::SetupErrors::propagate);
}

RunResult run_mpi(const RunConfig& config, const Communicator& comm, const RunOptions& options) {
  detail::MpiTransport transport(comm);
  return detail::run_with(config, transport, options, detail::SetupErrors::agree);
}

}  // namespace ecco

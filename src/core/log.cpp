#include "ecco/log.hpp"

#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "ecco/error.hpp"

namespace ecco {
namespace {

std::shared_ptr<spdlog::logger>& logger_slot() {
  static std::shared_ptr<spdlog::logger> logger;
  return logger;
}

}  // namespace

void init_logging(int rank, int size, std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off) {
    throw ConfigError("--log-level: unknown level '" + std::string(level) +
                      "' (valid: trace, debug, info, warn, error; errors are always shown)");
  }
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("ecco", sink);
  logger->set_pattern("[%H:%M:%S.%e] [ecco r" + std::to_string(rank) + "/" + std::to_string(size) + "] [%l] %v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  logger_slot() = std::move(logger);
}

spdlog::logger& log() {
  if (!logger_slot()) init_logging(0, 1);
  return *logger_slot();
}

}  // namespace ecco

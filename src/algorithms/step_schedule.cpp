#include "ecco/step_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "ecco/error.hpp"

namespace ecco {
namespace {

const std::vector<SpecEntry>& table() {
  static const std::vector<SpecEntry> entries = {
      {"constant", {{"warmup", "0", "rounds of linear warm-up from gamma/W to gamma"}}, "gamma every round"},
      {"cosine",
       {{"warmup", "0", "rounds of linear warm-up from gamma/W to gamma"},
        {"final", "0", "step at the last round, as a fraction of gamma, in [0, 1]"}},
       "cosine decay from gamma to final * gamma over --rounds"},
  };
  return entries;
}

}  // namespace

std::span<const SpecEntry> step_schedule_table() { return table(); }

StepSchedule StepSchedule::constant(double gamma) {
  StepSchedule schedule;
  schedule.gamma_ = gamma;
  return schedule;
}

StepSchedule StepSchedule::parse(std::string_view spec_text, double gamma, std::int64_t rounds) {
  const Spec spec = resolve_spec("lr schedule", spec_text, table());
  StepSchedule schedule;
  schedule.gamma_ = gamma;
  schedule.rounds_ = rounds;
  schedule.warmup_ = spec.get_int("warmup");
  if (schedule.warmup_ < 0 || schedule.warmup_ > std::max<std::int64_t>(rounds, 0)) {
    throw ConfigError("--lr-schedule " + spec.name() + ": warmup must be in [0, --rounds = " + std::to_string(rounds) +
                      "], got " + spec.get_string("warmup"));
  }
  if (spec.name() == "cosine") {
    schedule.shape_ = Shape::cosine;
    schedule.final_ = spec.get_double("final");
    if (!(schedule.final_ >= 0.0 && schedule.final_ <= 1.0)) {
      throw ConfigError("--lr-schedule cosine: final must be in [0, 1], got " + spec.get_string("final"));
    }
  }
  schedule.spec_ = spec.to_string();
  return schedule;
}

double StepSchedule::at(std::int64_t update) const {
  if (shape_ == Shape::constant && warmup_ == 0) return gamma_;
  double factor = 1.0;
  if (update < warmup_) factor = static_cast<double>(update + 1) / static_cast<double>(warmup_);
  if (shape_ == Shape::cosine) {
    const std::int64_t span = rounds_ - warmup_;
    const double progress =
        update < warmup_ || span <= 0 ? 0.0
                                      : std::min(1.0, static_cast<double>(update - warmup_) / static_cast<double>(span));
    factor *= final_ + (1.0 - final_) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }
  return gamma_ * factor;
}

}  // namespace ecco

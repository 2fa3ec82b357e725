#pragma once
// --lr-schedule: how the step size changes over the run. Server update k = 0, 1, ... is the
// one that produces x^{k+1} (from the messages of round k); its step is
//   constant[:warmup=W]           gamma_k = gamma * w_k
//   cosine[:warmup=W,final=F]     gamma_k = gamma * w_k * (F + (1 - F) (1 + cos(pi s_k)) / 2)
// with the linear warm-up w_k = min(1, (k + 1) / W) (w_k = 1 for W = 0) and the cosine's
// progress s_k = min(1, (k - W) / (K - W)) after the warm-up (0 before), K = --rounds.
// gamma is --lr (a constant or the theory rule's value). constant with W = 0 returns gamma
// itself for every k, so such runs are bit-identical to runs without a schedule.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ecco/spec.hpp"

namespace ecco {

class StepSchedule {
 public:
  // A constant step gamma (no warm-up).
  static StepSchedule constant(double gamma);
  // Parses an --lr-schedule spec (step_schedule_table()); ConfigError on bad names or
  // values (warmup must be an integer in [0, rounds], final in [0, 1]).
  static StepSchedule parse(std::string_view spec_text, double gamma, std::int64_t rounds);

  // gamma_k for server update k >= 0.
  double at(std::int64_t update) const;
  double base() const { return gamma_; }
  // Canonical spec with defaults filled in, e.g. "cosine:final=0,warmup=100".
  const std::string& spec() const { return spec_; }

 private:
  enum class Shape { constant, cosine };
  Shape shape_ = Shape::constant;
  double gamma_ = 0.0;
  std::int64_t warmup_ = 0;
  std::int64_t rounds_ = 0;
  double final_ = 0.0;
  std::string spec_ = "constant:warmup=0";
};

std::span<const SpecEntry> step_schedule_table();

}  // namespace ecco

#include "ecco/step_size.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "ecco/error.hpp"
#include "ecco/spec.hpp"

namespace ecco {
namespace {

const std::vector<SpecEntry>& lr_table() {
  static const std::vector<SpecEntry> table = {
      {"theory",
       {{"mult", "1", "multiple of the theory step size, > 0"},
        {"mean", "auto", "qm: L_QM (EF21), am: L_AM (EF21-W / improved analysis), auto: the method's"},
        {"pl", "false", "true: EF21's PL rule min{1/(L + L_mean sqrt(2 beta/theta)), theta/(2 mu)}"}},
       "gamma = mult / (L + L_mean xi(alpha))"},
  };
  return table;
}

}  // namespace

std::string StepSizeRule::to_string() const {
  if (!theory) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.17g", constant);
    return buffer;
  }
  char buffer[96];
  const char* mean_text = !mean ? "auto" : (*mean == SmoothnessMean::quadratic ? "qm" : "am");
  std::snprintf(buffer, sizeof buffer, "theory:mean=%s,mult=%.17g,pl=%s", mean_text, mult, pl ? "true" : "false");
  return buffer;
}

StepSizeRule parse_step_size(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  StepSizeRule rule;
  if (!s.empty() && end == s.c_str() + s.size()) {
    if (!(std::isfinite(value) && value > 0.0)) {
      throw ConfigError("--lr: step size must be a finite number > 0, got '" + s + "'");
    }
    rule.theory = false;
    rule.constant = value;
    return rule;
  }
  const Spec spec = resolve_spec("--lr rule", text, lr_table());
  rule.mult = spec.get_double("mult");
  if (!(rule.mult > 0.0)) throw ConfigError("--lr theory: mult must be > 0, got '" + spec.get_string("mult") + "'");
  const std::string& mean = spec.get_string("mean");
  if (mean == "qm") {
    rule.mean = SmoothnessMean::quadratic;
  } else if (mean == "am") {
    rule.mean = SmoothnessMean::arithmetic;
  } else if (mean != "auto") {
    throw ConfigError("--lr theory: mean must be auto, qm or am, got '" + mean + "'");
  }
  rule.pl = spec.get_bool("pl");
  return rule;
}

SmoothnessConstants summarize_smoothness(double L, std::span<const double> L_i) {
  SmoothnessConstants c;
  c.L = L;
  if (L_i.empty()) return c;
  c.L_min = *std::min_element(L_i.begin(), L_i.end());
  c.L_max = *std::max_element(L_i.begin(), L_i.end());
  double sum = 0.0;
  double sum_sq = 0.0;
  for (double l : L_i) {
    sum += l;
    sum_sq += l * l;
  }
  const auto n = static_cast<double>(L_i.size());
  c.L_am = sum / n;
  c.L_qm = std::sqrt(sum_sq / n);
  return c;
}

// 1 - sqrt(1 - alpha), written without the cancellation for small alpha.
double ef21_theta(double alpha) { return alpha / (1.0 + std::sqrt(1.0 - alpha)); }

double ef21_beta(double alpha) { return (1.0 - alpha) / ef21_theta(alpha); }

double ef21_xi(double alpha) {
  if (alpha >= 1.0) return 0.0;
  return std::sqrt(1.0 - alpha) / ef21_theta(alpha);
}

double smoothness_mean(const StepSizeRule& rule, const SmoothnessConstants& constants, SmoothnessMean method_default) {
  return rule.mean.value_or(method_default) == SmoothnessMean::quadratic ? constants.L_qm : constants.L_am;
}

double theory_step_size(const StepSizeRule& rule, const SmoothnessConstants& constants, double alpha,
                        SmoothnessMean method_default) {
  if (!(alpha > 0.0 && alpha <= 1.0)) {
    throw ConfigError("theory step size needs a contraction parameter alpha in (0, 1], got " + std::to_string(alpha));
  }
  const double mean = smoothness_mean(rule, constants, method_default);
  if (!rule.pl) {
    const double denominator = constants.L + mean * ef21_xi(alpha);
    if (!(denominator > 0.0) || !std::isfinite(denominator)) {
      throw NumericError("theory step size: L + L_mean xi(alpha) = " + std::to_string(denominator) +
                         " is not a positive finite number (all-zero or huge data?)");
    }
    return rule.mult / denominator;
  }
  if (!(constants.mu > 0.0)) {
    throw ConfigError("--lr theory:pl=true needs the PL constant mu, which this problem does not provide "
                      "(least_squares with lambda=0 does)");
  }
  const double theta = ef21_theta(alpha);
  const double root = alpha >= 1.0 ? 0.0 : std::sqrt(2.0 * ef21_beta(alpha) / theta);
  return rule.mult * std::min(1.0 / (constants.L + mean * root), theta / (2.0 * constants.mu));
}

double pp_theory_step_size(const StepSizeRule& rule, const SmoothnessConstants& constants, double alpha, double p) {
  if (rule.pl) throw ConfigError("--lr theory:pl=true is not implemented for partial participation");
  constexpr double s = 1e-3;
  constexpr double rho = 1e-3;
  const double theta = 1.0 - (1.0 + s) * (1.0 - alpha);
  const double beta = (1.0 + 1.0 / s) * (1.0 - alpha);
  const double theta_p = rho * p + theta * p - rho;
  if (!(theta_p > 0.0)) {
    throw ConfigError("EF21-PP theory step size undefined: theta_p = " + std::to_string(theta_p) +
                      " <= 0 for alpha = " + std::to_string(alpha) + " and participation " + std::to_string(p) +
                      " (use --lr VALUE)");
  }
  const double mean = smoothness_mean(rule, constants);
  const double B = (beta * p + (1.0 + 1.0 / rho) * (1.0 - p)) * mean * mean;
  return rule.mult / (constants.L + std::sqrt(B / theta_p));
}

}  // namespace ecco

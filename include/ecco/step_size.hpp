#pragma once
// Step sizes: a constant (--lr 0.01) or a method's theory rule (--lr theory[:mult=M,mean=qm|am,pl=]).
// The EF21 rule (ALGORITHMS.md sections 0 and 1.3):
//   gamma = M / (L + L_mean * xi(alpha)),  xi(alpha) = sqrt(1 - alpha) / (1 - sqrt(1 - alpha))
// with L_mean the quadratic mean of the L_i (qm, EF21's Theorem 1) or the arithmetic mean
// (am, EF21-W and the improved EF21 analysis). With pl=true (PL functions, EF21's PL theorem):
//   gamma = M * min{ 1 / (L + L_mean * sqrt(2 beta / theta)), theta / (2 mu) }.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ecco {

enum class SmoothnessMean { quadratic, arithmetic };

struct StepSizeRule {
  bool theory = true;
  double constant = 0.0;  // when !theory
  double mult = 1.0;      // when theory
  std::optional<SmoothnessMean> mean;  // unset: the method's own (EF21: qm, EF21-W: am)
  bool pl = false;                      // use the PL variant (needs mu)
  std::string to_string() const;
};

// "0.01" or "theory[:mult=M,mean=auto|qm|am,pl=false]"; ConfigError otherwise.
StepSizeRule parse_step_size(std::string_view text);

// Smoothness constants of a run: L of f on the whole data and the L_i of the clients.
struct SmoothnessConstants {
  double L = 0.0;
  double L_min = 0.0;
  double L_am = 0.0;  // arithmetic mean of the L_i
  double L_qm = 0.0;  // quadratic mean of the L_i
  double L_max = 0.0;
  double mu = 0.0;    // PL constant of f, when the problem provides one (0: unknown)
};
SmoothnessConstants summarize_smoothness(double L, std::span<const double> L_i);

// EF21's theta, beta and xi for a contraction parameter alpha in (0, 1]; xi(1) = 0.
double ef21_theta(double alpha);
double ef21_beta(double alpha);
double ef21_xi(double alpha);

// The mean the rule selects (L_QM or L_AM), or the method's own when the rule leaves it open.
double smoothness_mean(const StepSizeRule& rule, const SmoothnessConstants& constants,
                       SmoothnessMean method_default = SmoothnessMean::quadratic);

// The EF21 rule above (PL variant when rule.pl). ConfigError if alpha is outside (0, 1] or
// the PL variant has no mu; NumericError if the constants make it undefined.
double theory_step_size(const StepSizeRule& rule, const SmoothnessConstants& constants, double alpha,
                        SmoothnessMean method_default = SmoothnessMean::quadratic);

// EF21-PP's theory step size as implemented by FL_PyTorch ("Th. 7 of EF21-PP",
// ALGORITHMS.md 1.6) with s = rho = 1e-3 and every client participating with probability p:
//   theta = 1 - (1+s)(1-alpha), beta = (1+1/s)(1-alpha), theta_p = rho p + theta p - rho,
//   B = (beta p + (1 + 1/rho)(1 - p)) L_mean^2,  gamma = M / (L + sqrt(B / theta_p)).
// ConfigError when theta_p <= 0 (compression too strong for this participation).
double pp_theory_step_size(const StepSizeRule& rule, const SmoothnessConstants& constants, double alpha, double p);

}  // namespace ecco

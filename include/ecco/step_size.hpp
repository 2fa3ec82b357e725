#pragma once
// Step sizes: a constant (--lr 0.01) or the theory rule of EF21 (--lr theory[:mult=M,mean=qm|am]):
//   gamma = M / (L + L_mean * xi(alpha)),  xi(alpha) = sqrt(1 - alpha) / (1 - sqrt(1 - alpha))
// with L_mean the quadratic mean of the L_i (qm, EF21's Theorem 1) or the arithmetic mean
// (am, EF21-W and the improved EF21 analysis). See ALGORITHMS.md sections 0 and 1.3.
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
  SmoothnessMean mean = SmoothnessMean::quadratic;
  std::string to_string() const;
};

// "0.01" or "theory[:mult=M,mean=qm|am]"; ConfigError otherwise.
StepSizeRule parse_step_size(std::string_view text);

// Smoothness constants of a run: L of f on the whole data and the L_i of the clients.
struct SmoothnessConstants {
  double L = 0.0;
  double L_min = 0.0;
  double L_am = 0.0;  // arithmetic mean of the L_i
  double L_qm = 0.0;  // quadratic mean of the L_i
  double L_max = 0.0;
};
SmoothnessConstants summarize_smoothness(double L, std::span<const double> L_i);

// EF21's theta, beta and xi for a contraction parameter alpha in (0, 1]; xi(1) = 0.
double ef21_theta(double alpha);
double ef21_beta(double alpha);
double ef21_xi(double alpha);

double theory_step_size(const StepSizeRule& rule, const SmoothnessConstants& constants, double alpha);

}  // namespace ecco

// Step-size rules and the EF21 constants of ALGORITHMS.md section 0.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "ecco/error.hpp"
#include "ecco/step_size.hpp"

TEST(StepSize, XiMatchesBothClosedForms) {
  for (double alpha : {1e-4, 0.01, 0.1, 0.5, 0.9, 0.999}) {
    const double xi = ecco::ef21_xi(alpha);
    EXPECT_NEAR(xi, (1.0 + std::sqrt(1.0 - alpha)) / alpha - 1.0, 1e-9 * xi);
    EXPECT_NEAR(xi, std::sqrt(ecco::ef21_beta(alpha) / ecco::ef21_theta(alpha)), 1e-9 * xi);
    EXPECT_LE(xi, 2.0 / alpha - 1.0);
  }
  EXPECT_EQ(ecco::ef21_xi(1.0), 0.0);
}

TEST(StepSize, XiForTop1IsAboutTwoD) {
  // ALGORITHMS.md: for TopK with k = 1, xi ~ 2d - 1.5.
  const double d = 112;
  EXPECT_NEAR(ecco::ef21_xi(1.0 / d), 2 * d - 1.5, 0.01);
}

TEST(StepSize, SmoothnessSummary) {
  const std::vector<double> L_i = {1.0, 2.0, 4.0, 5.0};
  const auto c = ecco::summarize_smoothness(3.0, L_i);
  EXPECT_EQ(c.L, 3.0);
  EXPECT_EQ(c.L_min, 1.0);
  EXPECT_EQ(c.L_max, 5.0);
  EXPECT_DOUBLE_EQ(c.L_am, 3.0);
  EXPECT_DOUBLE_EQ(c.L_qm, std::sqrt((1.0 + 4.0 + 16.0 + 25.0) / 4.0));
  EXPECT_LE(c.L_am, c.L_qm);
}

TEST(StepSize, TheoryRule) {
  const auto c = ecco::summarize_smoothness(2.0, std::vector<double>{1.0, 3.0});
  const double alpha = 0.1;
  const double xi = ecco::ef21_xi(alpha);
  EXPECT_DOUBLE_EQ(ecco::theory_step_size(ecco::parse_step_size("theory"), c, alpha), 1.0 / (2.0 + c.L_qm * xi));
  EXPECT_DOUBLE_EQ(ecco::theory_step_size(ecco::parse_step_size("theory:mult=4,mean=am"), c, alpha),
                   4.0 / (2.0 + 2.0 * xi));
  EXPECT_DOUBLE_EQ(ecco::theory_step_size(ecco::parse_step_size("theory"), c, 1.0), 0.5);  // GD: 1/L
}

TEST(StepSize, ParsesConstantsAndRejectsBadRules) {
  const auto constant = ecco::parse_step_size("0.125");
  EXPECT_FALSE(constant.theory);
  EXPECT_EQ(constant.constant, 0.125);
  const auto theory = ecco::parse_step_size("theory:mult=2");
  EXPECT_TRUE(theory.theory);
  EXPECT_EQ(theory.mult, 2.0);
  EXPECT_FALSE(theory.mean.has_value());  // auto: the method decides
  EXPECT_EQ(ecco::parse_step_size("theory:mean=am").mean, ecco::SmoothnessMean::arithmetic);
  for (const char* bad : {"0", "-0.1", "inf", "nan", "abc", "theory:mult=0", "theory:mult=-2", "theory:mean=gm",
                          "theory:step=1", "theoryx", ""}) {
    EXPECT_THROW(ecco::parse_step_size(bad), ecco::ConfigError) << bad;
  }
}

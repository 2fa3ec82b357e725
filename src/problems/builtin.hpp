#pragma once
// Factories of the built-in problems and helpers they share (private to src/problems).
#include <memory>

#include "ecco/dataset.hpp"
#include "ecco/problem.hpp"
#include "ecco/spec.hpp"

namespace ecco::detail {

std::unique_ptr<ProblemFactory> make_logistic(const Spec& spec);
std::unique_ptr<ProblemFactory> make_least_squares(const Spec& spec);
std::unique_ptr<ProblemFactory> make_softmax(const Spec& spec);
std::unique_ptr<ProblemFactory> make_mlp(const Spec& spec);

// lambda_max(A^T A) / (4 N) + 2 lambda on the given rows.
double logistic_smoothness(const Dataset& data, double lambda);

// 2 lambda_max(A^T A) / N + 2 lambda on the given rows.
double least_squares_smoothness(const Dataset& data, double lambda);

// (lambda_max(A^T A) + N) / (2 N) + lambda for the N rows of A (softmax regression).
double softmax_smoothness(const SparseRows& a, double lambda);

// DataError unless every label is -1 or +1.
void check_binary_labels(const Dataset& data);

}  // namespace ecco::detail

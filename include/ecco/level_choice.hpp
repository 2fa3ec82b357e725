#pragma once
// L-GreCo's choice of one compression level per tensor (Alimohammadi et al., "L-GreCo:
// Layerwise-Adaptive Gradient Compression", MLSys 2024): a multiple-choice knapsack solved by
// dynamic programming over the message size.
//
// Tensor k at level c costs bytes(k, c) (its part of one client's message) and adds
// error(k, c) (its measured squared compression error) to the total. Two forms:
//   * min_bytes_within_error: the smallest total bytes with total error <= max_error
//     (L-GreCo's form, max_error = the uniform setting's error);
//   * min_error_within_bytes: the smallest total error with total bytes <= max_bytes.
//
// The program runs over byte units of u = max(1, ceil(W / buckets)) bytes, W the largest
// total (every tensor at its largest level): each cost is rounded up to whole units, so a
// choice the program accepts within a byte budget is within it in true bytes too. With
// u = 1 (W <= buckets) the answer is exact. Otherwise the program's answer is exact for the
// rounded costs, min_error_within_bytes falls back to the smallest message (each tensor's
// fewest bytes) when only that fits the budget in true bytes, and the answer is then
// polished in true bytes: one tensor's level at a time moves while that saves bytes within
// the error bound (or lowers the error within the budget), so that rounding never excludes
// a choice one move away (e.g. a budget equal to a uniform setting's bytes). Ties: fewer units first, then the smaller
// error; among paths of equal units and error the first found (deterministic: the same
// costs give the same choice). Errors are summed tensor by tensor in layout order, the
// order in which a caller sums the uniform setting's error, so that setting is always
// feasible against its own total. Cost O(tensors x levels x total units) time and
// O(tensors x total units) memory.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ecco {

// Costs of every (tensor, level) pair, row-major: entry k * levels + c.
struct LevelCosts {
  std::size_t tensors = 0;
  std::size_t levels = 0;
  std::vector<std::uint64_t> bytes;
  std::vector<double> error;  // finite and >= 0
};

struct LevelChoice {
  bool feasible = false;
  std::vector<std::uint32_t> level;  // per tensor (empty if not feasible)
  std::uint64_t bytes = 0;           // true total bytes of the choice
  double error = 0.0;                // total error of the choice (summed in tensor order)
};

// std::invalid_argument if the shapes disagree, a table is empty, an error is negative or not
// finite, or buckets == 0.
LevelChoice min_bytes_within_error(const LevelCosts& costs, double max_error, std::size_t buckets = 4096);
LevelChoice min_error_within_bytes(const LevelCosts& costs, std::uint64_t max_bytes, std::size_t buckets = 4096);
// L-GreCo's form against a reference choice (the uniform setting): the fewest bytes within
// the reference's total error, and never more bytes than the reference itself.
LevelChoice min_bytes_within_error_of(const LevelCosts& costs, std::span<const std::uint32_t> reference,
                                      std::size_t buckets = 4096);

// The totals of the given levels, one per tensor (errors summed in tensor order, as above);
// std::invalid_argument for a wrong count or a level out of range.
LevelChoice evaluate(const LevelCosts& costs, std::span<const std::uint32_t> level);
// Each tensor at its fewest bytes (ties to the smaller error): the smallest message.
LevelChoice smallest_message(const LevelCosts& costs);

}  // namespace ecco

// The dynamic program of level_choice.hpp. Table best[k][w]: the least error of tensors
// 0..k-1 whose rounded costs sum to exactly w units (infinity: no such choice), and the level
// of tensor k-1 on that path, from which the choice is read back.
#include "ecco/level_choice.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace ecco {
namespace {

constexpr double kNone = std::numeric_limits<double>::infinity();
constexpr std::uint32_t kNoLevel = std::numeric_limits<std::uint32_t>::max();

void check(const LevelCosts& costs, std::size_t buckets) {
  if (costs.tensors == 0 || costs.levels == 0) throw std::invalid_argument("level choice: no tensors or no levels");
  if (costs.levels >= kNoLevel) throw std::invalid_argument("level choice: too many levels");
  const std::size_t n = costs.tensors * costs.levels;
  if (costs.bytes.size() != n || costs.error.size() != n) {
    throw std::invalid_argument("level choice: " + std::to_string(costs.bytes.size()) + " sizes and " +
                                std::to_string(costs.error.size()) + " errors for " + std::to_string(costs.tensors) +
                                " tensors x " + std::to_string(costs.levels) + " levels");
  }
  for (const double e : costs.error) {
    if (!(std::isfinite(e) && e >= 0.0)) throw std::invalid_argument("level choice: an error is negative or not finite");
  }
  if (buckets == 0) throw std::invalid_argument("level choice: buckets must be >= 1");
}

class Program {
 public:
  Program(const LevelCosts& costs, std::size_t buckets) : costs_(costs) {
    check(costs, buckets);
    std::uint64_t largest = 0;
    for (std::size_t k = 0; k < costs.tensors; ++k) {
      const auto row = costs.bytes.begin() + static_cast<std::ptrdiff_t>(k * costs.levels);
      largest += *std::max_element(row, row + static_cast<std::ptrdiff_t>(costs.levels));
    }
    unit_ = std::max<std::uint64_t>(1, (largest + buckets - 1) / buckets);
    units_.resize(costs.bytes.size());
    std::size_t total = 0;
    for (std::size_t k = 0; k < costs.tensors; ++k) {
      std::size_t widest = 0;
      for (std::size_t c = 0; c < costs.levels; ++c) {
        const std::uint64_t b = costs.bytes[k * costs.levels + c];
        units_[k * costs.levels + c] = static_cast<std::size_t>(b / unit_ + (b % unit_ != 0 ? 1 : 0));
        widest = std::max(widest, units_[k * costs.levels + c]);
      }
      total += widest;
    }
    width_ = total + 1;
    best_.assign((costs.tensors + 1) * width_, kNone);
    level_.assign(costs.tensors * width_, kNoLevel);
    best_[0] = 0.0;
    for (std::size_t k = 0; k < costs.tensors; ++k) {
      const double* from = &best_[k * width_];
      double* to = &best_[(k + 1) * width_];
      std::uint32_t* chosen = &level_[k * width_];
      for (std::size_t w = 0; w < width_; ++w) {
        if (from[w] == kNone) continue;
        for (std::size_t c = 0; c < costs.levels; ++c) {
          const std::size_t v = w + units_[k * costs.levels + c];
          const double e = from[w] + costs.error[k * costs.levels + c];
          if (e < to[v]) {
            to[v] = e;
            chosen[v] = static_cast<std::uint32_t>(c);
          }
        }
      }
    }
  }

  std::uint64_t unit() const { return unit_; }
  std::size_t width() const { return width_; }
  double least_error(std::size_t w) const { return best_[costs_.tensors * width_ + w]; }

  LevelChoice read_back(std::size_t w) const {
    LevelChoice choice;
    choice.level.assign(costs_.tensors, 0);
    for (std::size_t k = costs_.tensors; k-- > 0;) {
      const std::uint32_t c = level_[k * width_ + w];
      choice.level[k] = c;
      w -= units_[k * costs_.levels + c];
    }
    return evaluate(costs_, choice.level);
  }

 private:
  const LevelCosts& costs_;
  std::uint64_t unit_ = 1;
  std::vector<std::size_t> units_;
  std::size_t width_ = 0;
  std::vector<double> best_;
  std::vector<std::uint32_t> level_;
};

// Moves one tensor's level at a time, in true bytes, while a move improves the choice: for
// the error form, the move to the fewest bytes with the total error still within max_error;
// for the byte form, the move to the least error within max_bytes. Repairs what rounding to
// units cost (a choice the units excluded, e.g. a budget equal to a uniform setting's bytes).
// Every candidate's totals are summed afresh in tensor order, so a move improves the same
// function that judges the next one: the objective strictly falls and the loop ends (and
// stops after tensors x levels moves in any case). O(tensors^2 x levels) per move.
void polish(const LevelCosts& costs, LevelChoice& choice, bool by_error, double max_error, std::uint64_t max_bytes) {
  std::vector<std::uint32_t> trial;
  for (std::size_t moves = 0; moves < costs.tensors * costs.levels; ++moves) {
    LevelChoice best = choice;
    for (std::size_t k = 0; k < costs.tensors; ++k) {
      for (std::size_t c = 0; c < costs.levels; ++c) {
        if (c == choice.level[k]) continue;
        trial = choice.level;
        trial[k] = static_cast<std::uint32_t>(c);
        LevelChoice moved = evaluate(costs, trial);
        const bool better = by_error ? (moved.error <= max_error && moved.bytes < best.bytes)
                                     : (moved.bytes <= max_bytes && moved.error < best.error);
        if (better) best = std::move(moved);
      }
    }
    if (best.level == choice.level) return;
    choice = std::move(best);
  }
}

}  // namespace

LevelChoice evaluate(const LevelCosts& costs, std::span<const std::uint32_t> level) {
  if (level.size() != costs.tensors) throw std::invalid_argument("level choice: one level per tensor needed");
  LevelChoice choice;
  choice.feasible = true;
  choice.level.assign(level.begin(), level.end());
  for (std::size_t k = 0; k < costs.tensors; ++k) {
    if (level[k] >= costs.levels) throw std::invalid_argument("level choice: level out of range");
    choice.bytes += costs.bytes[k * costs.levels + level[k]];
    choice.error += costs.error[k * costs.levels + level[k]];
  }
  return choice;
}

LevelChoice smallest_message(const LevelCosts& costs) {
  std::vector<std::uint32_t> level(costs.tensors, 0);
  for (std::size_t k = 0; k < costs.tensors; ++k) {
    for (std::size_t c = 1; c < costs.levels; ++c) {
      const std::size_t i = k * costs.levels + c;
      const std::size_t j = k * costs.levels + level[k];
      if (costs.bytes[i] < costs.bytes[j] || (costs.bytes[i] == costs.bytes[j] && costs.error[i] < costs.error[j])) {
        level[k] = static_cast<std::uint32_t>(c);
      }
    }
  }
  return evaluate(costs, level);
}

LevelChoice min_bytes_within_error(const LevelCosts& costs, double max_error, std::size_t buckets) {
  const Program program(costs, buckets);
  for (std::size_t w = 0; w < program.width(); ++w) {
    if (program.least_error(w) <= max_error) {
      LevelChoice choice = program.read_back(w);
      polish(costs, choice, true, max_error, 0);
      return choice;
    }
  }
  return {};
}

LevelChoice min_error_within_bytes(const LevelCosts& costs, std::uint64_t max_bytes, std::size_t buckets) {
  const Program program(costs, buckets);
  const std::uint64_t allowed = max_bytes / program.unit();
  std::size_t best = program.width();
  for (std::size_t w = 0; w < program.width() && w <= allowed; ++w) {
    if (program.least_error(w) == kNone) continue;
    if (best == program.width() || program.least_error(w) < program.least_error(best)) best = w;
  }
  if (best != program.width()) {
    LevelChoice choice = program.read_back(best);
    polish(costs, choice, false, 0.0, max_bytes);
    return choice;
  }
  // Rounded up to whole units, even the smallest message may not fit a budget it fits in
  // true bytes: then that message.
  LevelChoice smallest = smallest_message(costs);
  if (smallest.bytes > max_bytes) return {};
  polish(costs, smallest, false, 0.0, max_bytes);
  return smallest;
}

LevelChoice min_bytes_within_error_of(const LevelCosts& costs, std::span<const std::uint32_t> reference,
                                      std::size_t buckets) {
  LevelChoice bound = evaluate(costs, reference);
  LevelChoice choice = min_bytes_within_error(costs, bound.error, buckets);
  // The program's units round each part up, so its fewest units may hold more true bytes
  // than the reference (at most one unit per tensor): never more than the reference.
  return choice.bytes <= bound.bytes ? choice : bound;
}

}  // namespace ecco

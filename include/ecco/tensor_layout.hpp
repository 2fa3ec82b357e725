#pragma once
// Named tensors of a model's flat parameter vector x (what --granularity tensor compresses
// one by one, and what logs can name).
//
// Tensor k occupies x[offset, offset + rows * cols) and is stored column-major as a
// rows x cols matrix: element (i, j) is x[offset + i + rows * j] (the convention of the
// lowrank message layout, so a weight matrix W (out x in) has rows = out, cols = in).
// Vectors (biases) have cols = 1. A layout covers x exactly: offsets increase in order
// and each tensor starts where the previous one ends.
#include <cstddef>
#include <string>
#include <vector>

namespace ecco {

struct TensorShape {
  std::string name;  // e.g. "fc1.weight"
  std::size_t offset = 0;
  std::size_t rows = 0;
  std::size_t cols = 1;
  std::size_t size() const { return rows * cols; }
};

using TensorLayout = std::vector<TensorShape>;

// One tensor "x" of shape dim x 1 (problems without structure).
TensorLayout single_tensor(std::size_t dim);

// Sum of the tensor sizes.
std::size_t layout_dim(const TensorLayout& layout);

// std::invalid_argument unless the layout is non-empty, has no empty tensor and covers
// [0, dim) contiguously in order.
void check_layout(const TensorLayout& layout, std::size_t dim);

}  // namespace ecco

#pragma once
// Classes of the multiclass problems (softmax, mlp) and the dense copy of a shard they
// train on. Private to src/problems.
//
// Labels are arbitrary numbers (Fashion-MNIST's 0..9, a LIBSVM file's 1, 3, 7, ...): the
// sorted distinct label values of the whole training set are the classes, and class c is
// the c-th smallest label. Every shard, and every test set, is mapped with that one table,
// so class indices mean the same on every client.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "ecco/dataset.hpp"

namespace ecco::detail {

// Limits on the number of distinct training labels (a regression target read as labels
// would otherwise make one class per row).
inline constexpr std::size_t kMinClasses = 2;
inline constexpr std::size_t kMaxClasses = 1000;

// One shard in the form the networks compute on, in the arithmetic they compute in (double,
// or float for --precision fp32).
template <class Scalar>
struct DenseShard {
  // d_in x N_i, column-major, sample j in column j: a minibatch is a gather of columns
  // and a chunk of consecutive rows is a block of columns. sizeof(Scalar) d_in N_i bytes.
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> features;
  std::vector<std::uint32_t> classes;  // N_i class indices in [0, C)
  std::string source;                  // for messages
  std::size_t rows() const { return classes.size(); }
};

class ClassMap {
 public:
  // `problem` names the problem in messages ("softmax").
  explicit ClassMap(std::string problem) : problem_(std::move(problem)) {}

  // Collects the sorted distinct labels of the whole training set and remembers them and
  // d_in = train.dim(). DataError unless there are kMinClasses..kMaxClasses of them.
  // Cost: O(N log N) time, O(N) memory.
  void prepare(const Dataset& train);
  bool prepared() const { return !labels_.empty(); }

  // C, the number of classes, and d_in; std::logic_error before prepare().
  std::size_t classes() const;
  std::size_t input_dim() const;

  // Class index of a label, or classes() when it is not a training label. O(log C).
  std::size_t class_of(double label) const;

  // The shard as a dense d_in x N_i matrix with class indices. A shard with fewer
  // features than d_in (a LIBSVM test file whose last features are all zero) is padded
  // with zeros. DataError for more features than d_in or a label that is not a training
  // label; std::logic_error before prepare(). Cost: O(d_in N_i) time and memory. Features
  // are converted to Scalar (float rounds to nearest).
  template <class Scalar>
  DenseShard<Scalar> make(const Dataset& shard) const;

 private:
  void require_prepared() const;

  std::string problem_;
  std::vector<double> labels_;  // sorted, distinct; empty before prepare()
  std::size_t input_dim_ = 0;
};

}  // namespace ecco::detail

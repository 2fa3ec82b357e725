#pragma once
// ecco-bench model: the cost of one forward + backward pass of the built-in models on one core.
//
//   ecco-bench model [--models softmax,mlp] [--precisions fp32,fp64] [--batches 64,256]
//                    [--hidden 512x512] [--repeat 200 (this command's default)] [--json]
//
// For each model, precision and batch size: the median time of one minibatch gradient
// (Problem::batch_gradient through the public API, exactly what a client computes in a
// round: x given in fp64, the gradient returned in fp64, conversions included) over --repeat
// calls after a warm-up, on synthetic Fashion-MNIST-shaped data (784 features in [0, 1),
// 10 classes, 4096 rows, a fresh random batch each call), and the arithmetic rate
// 6 P batch / time in GFLOP/s, with P = the multiply-adds of one row's forward pass
// (sum of fan_in x fan_out over the layers). --json prints one JSON array instead.
#include <cxxopts.hpp>

namespace ecco::bench {

int run_model(const cxxopts::ParseResult& args);

}  // namespace ecco::bench

#pragma once
// One run per method of the registry on heterogeneous regression clients dealt unevenly
// (7 clients, shuffled split), shared by the MPI == serial tests of every mode.
#include <vector>

#include "ecco/trainer.hpp"

namespace ecco::testing {

struct MethodCase {
  const char* algorithm;
  const char* compressor;
  const char* lr;
};

inline const std::vector<MethodCase>& registry_cases() {
  static const std::vector<MethodCase> cases = {
      {"gd", "identity", "theory"},
      {"sgd:batch=3", "identity", "theory"},
      {"sgd:batch=3,momentum=0.5", "identity", "theory"},
      {"dcgd", "topk:k=2", "theory"},
      {"ef14:batch=0.5", "topk:k=2", "theory"},
      {"ef21:init=compressed", "topk:k=2", "theory"},
      {"ef21w", "topk:k=1", "theory"},
      {"ef21_plus", "topk:k=2", "theory"},
      {"ef21_sgd:batch=0.3", "topk:k=2", "theory"},
      {"ef21_sgdm:batch=4,eta=0.3", "topk:k=2", "theory"},
      {"ef21_page:batch=2,p=0.3", "topk:k=2", "theory"},
      {"ef21_pp:participation=0.5", "topk:k=2", "theory:mult=2"},
      {"ef21_pp:participation=0.4,sampling=poisson", "topk:k=3", "0.01"},
      {"ef21_bc", "topk:k=2", "theory"},
      {"ef21_hb:eta=0.7", "topk:k=2", "theory"},
      {"econtrol:eta=0.2,batch=0.5", "topk:k=2", "0.01"},
      {"adam:batch=3,weight_decay=0.05", "identity", "0.05"},
      // Chunks of 4, 4 and 2 of d = 10; 1-bit from round 4 on.
      {"onebit_adam:batch=3,freeze=4,chunk=4,weight_decay=0.05", "identity", "0.05"},
  };
  return cases;
}

// The case's run; the caller sets rounds, log_every and anything it varies.
inline RunConfig registry_case_config(const MethodCase& c) {
  RunConfig config;
  config.data = "synthetic:rows=12,dim=10,spread=30,noise=0.5,seed=2";
  config.problem = "least_squares:lambda=0.01";
  config.clients = 7;
  config.split = "shuffle:seed=5";
  config.algorithm = c.algorithm;
  config.compressor = c.compressor;
  config.down_compressor = "topk:k=3";
  config.step_size = c.lr;
  config.x0 = "gaussian";
  return config;
}

}  // namespace ecco::testing

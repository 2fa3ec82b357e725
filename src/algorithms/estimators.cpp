// Gradient estimators of the stochastic methods (ALGORITHMS.md 1.5). Every estimator starts
// from the full local gradient at x^0, as the EF21-BW reference code does.
#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

class FullGradient final : public GradientEstimator {
 public:
  const Eigen::VectorXd& initial(const Eigen::Ref<const Eigen::VectorXd>& x0, ClientEnv& env) override {
    return env.objective.gradient(x0, 0);
  }
  const Eigen::VectorXd& at(const Eigen::Ref<const Eigen::VectorXd>& x, std::int64_t t, ClientEnv& env) override {
    return env.objective.gradient(x, t);
  }
  void state(StateIO& /*io*/) override {}
};

// Mean gradient of a fresh minibatch drawn without replacement: O(batch nnz) per call.
class MinibatchGradient final : public GradientEstimator {
 public:
  MinibatchGradient(const BatchSize& batch, std::size_t dim, bool batch_start)
      : batch_(batch), batch_start_(batch_start), estimate_(static_cast<Eigen::Index>(dim)) {}

  const Eigen::VectorXd& initial(const Eigen::Ref<const Eigen::VectorXd>& x0, ClientEnv& env) override {
    const std::size_t rows = env.objective.rows();
    size_ = batch_.rows_for(rows);
    sampler_ = MinibatchSampler(rows);
    if (batch_start_) return at(x0, 0, env);
    return env.objective.gradient(x0, 0);
  }
  const Eigen::VectorXd& at(const Eigen::Ref<const Eigen::VectorXd>& x, std::int64_t /*t*/, ClientEnv& env) override {
    env.objective.batch_gradient(x, sampler_.draw(size_, env.sample_rng), estimate_);
    return estimate_;
  }
  void state(StateIO& io) override {
    io.field("batch_rows", size_);
    sampler_.state(io);
  }

 private:
  BatchSize batch_;
  bool batch_start_;
  std::size_t size_ = 0;
  MinibatchSampler sampler_{0};
  Eigen::VectorXd estimate_;
};

class Momentum final : public GradientEstimator {
 public:
  Momentum(std::unique_ptr<GradientEstimator> inner, double eta) : inner_(std::move(inner)), eta_(eta) {}

  const Eigen::VectorXd& initial(const Eigen::Ref<const Eigen::VectorXd>& x0, ClientEnv& env) override {
    v_ = inner_->initial(x0, env);
    return v_;
  }
  const Eigen::VectorXd& at(const Eigen::Ref<const Eigen::VectorXd>& x, std::int64_t t, ClientEnv& env) override {
    const Eigen::VectorXd& fresh = inner_->at(x, t, env);
    v_ = (1.0 - eta_) * v_ + eta_ * fresh;
    return v_;
  }
  void state(StateIO& io) override {
    io.field("momentum", v_);
    io.begin("inner");
    inner_->state(io);
    io.end();
  }

 private:
  std::unique_ptr<GradientEstimator> inner_;
  double eta_;
  Eigen::VectorXd v_;
};

class Page final : public GradientEstimator {
 public:
  Page(const BatchSize& batch, double p, std::uint64_t seed, std::size_t dim, bool batch_start)
      : batch_(batch),
        p_(p),
        seed_(seed),
        batch_start_(batch_start),
        v_(static_cast<Eigen::Index>(dim)),
        x_previous_(v_),
        at_new_(v_),
        at_old_(v_) {}

  const Eigen::VectorXd& initial(const Eigen::Ref<const Eigen::VectorXd>& x0, ClientEnv& env) override {
    const std::size_t rows = env.objective.rows();
    size_ = batch_.rows_for(rows);
    sampler_ = MinibatchSampler(rows);
    if (batch_start_) {
      env.objective.batch_gradient(x0, sampler_.draw(size_, env.sample_rng), v_);
    } else {
      v_ = env.objective.gradient(x0, 0);
    }
    x_previous_ = x0;
    return v_;
  }

  const Eigen::VectorXd& at(const Eigen::Ref<const Eigen::VectorXd>& x, std::int64_t t, ClientEnv& env) override {
    // One coin per round for all clients: a stream of its own derived from (seed, round).
    Rng coin(derive_seed(derive_seed(seed_, kNoClient, SeedPurpose::minibatch), static_cast<std::uint64_t>(t),
                         SeedPurpose::minibatch));
    if (coin.uniform() < p_) {
      v_ = env.objective.gradient(x, t);
    } else {
      const auto batch = sampler_.draw(size_, env.sample_rng);
      env.objective.batch_gradient(x, batch, at_new_);
      env.objective.batch_gradient(x_previous_, batch, at_old_);
      v_ += at_new_ - at_old_;
    }
    x_previous_ = x;
    return v_;
  }
  void state(StateIO& io) override {
    io.field("batch_rows", size_);
    sampler_.state(io);
    io.field("estimate", v_);
    io.field("x_previous", x_previous_);
  }

 private:
  BatchSize batch_;
  std::size_t size_ = 0;
  double p_;
  std::uint64_t seed_;
  bool batch_start_;
  MinibatchSampler sampler_{0};
  Eigen::VectorXd v_;
  Eigen::VectorXd x_previous_;
  Eigen::VectorXd at_new_;
  Eigen::VectorXd at_old_;
};

}  // namespace

std::unique_ptr<GradientEstimator> make_full_gradient() { return std::make_unique<FullGradient>(); }

std::unique_ptr<GradientEstimator> make_minibatch_gradient(const BatchSize& batch, std::size_t dim, bool batch_start) {
  return std::make_unique<MinibatchGradient>(batch, dim, batch_start);
}

std::unique_ptr<GradientEstimator> make_momentum(std::unique_ptr<GradientEstimator> inner, double eta) {
  return std::make_unique<Momentum>(std::move(inner), eta);
}

std::unique_ptr<GradientEstimator> make_page(const BatchSize& batch, double p, const MethodSetup& setup) {
  return std::make_unique<Page>(batch, p, setup.seed, setup.dim, setup.batch_start);
}

std::unique_ptr<GradientEstimator> make_estimator(const BatchSize& batch, const MethodSetup& setup) {
  if (batch.full) return make_full_gradient();
  return make_minibatch_gradient(batch, setup.dim, setup.batch_start);
}

}  // namespace ecco::detail

// ef21_pp — EF21-PP, partial participation (EF21-BW, ALGORITHMS.md 1.6).
//   round t: a random set S_t of clients takes part: i in S_t sends c_i = C(grad f_i(x^t) - g_i)
//            and sets g_i += c_i; the others send nothing (0 bits) and keep g_i;
//            server g^t = g^{t-1} + (1/n) sum_{i in S_t} c_i (the server keeps the stale g_i).
//   sampling=nice:    exactly floor(p n) clients drawn uniformly without replacement each
//                     round (every process derives the same set from the seed and t);
//   sampling=poisson: each client independently with probability p (its own stream).
// Init as EF21 (every client sends grad f_i(x^0)). Theory step: EF21-PP's formula with
// participation probability p_i = floor(p n)/n (nice) or p (poisson).
#include <cmath>
#include <cstdio>
#include <mutex>

#include "algorithms/builtin.hpp"

namespace ecco::detail {
namespace {

// Exactly m of n clients per round; the set of round t is cached, so a process pays O(n)
// per round however many clients it hosts.
class NiceSampling final : public Participation {
 public:
  NiceSampling(std::size_t clients, std::size_t per_round, std::uint64_t seed)
      : chosen_(clients), per_round_(per_round), seed_(seed), order_(clients) {}

  bool takes_part(std::size_t client, std::int64_t t, ClientEnv& /*env*/) override {
    if (t != round_) draw(t);
    return chosen_[client] != 0;
  }

 private:
  void draw(std::int64_t t) {
    Rng rng(derive_seed(derive_seed(seed_, kNoClient, SeedPurpose::participation), static_cast<std::uint64_t>(t),
                        SeedPurpose::participation));
    const std::size_t n = order_.size();
    for (std::size_t i = 0; i < n; ++i) order_[i] = static_cast<std::uint32_t>(i);
    std::fill(chosen_.begin(), chosen_.end(), 0);
    for (std::size_t k = 0; k < per_round_; ++k) {
      const std::size_t pick = k + static_cast<std::size_t>(rng.uniform_index(n - k));
      std::swap(order_[k], order_[pick]);
      chosen_[order_[k]] = 1;
    }
    round_ = t;
  }

  std::vector<char> chosen_;
  std::size_t per_round_;
  std::uint64_t seed_;
  std::vector<std::uint32_t> order_;
  std::int64_t round_ = -1;
};

class PoissonSampling final : public Participation {
 public:
  explicit PoissonSampling(double p) : p_(p) {}
  bool takes_part(std::size_t /*client*/, std::int64_t /*t*/, ClientEnv& env) override {
    return env.sample_rng.uniform() < p_;
  }

 private:
  double p_;
};

class Ef21Pp final : public Ef21FamilyMethod {
 public:
  Ef21Pp(double participation, std::string participation_text, bool poisson)
      : Ef21FamilyMethod("ef21_pp"),
        participation_(participation),
        participation_text_(std::move(participation_text)),
        poisson_(poisson) {}

  std::string spec() const override {
    return "ef21_pp:participation=" + participation_text_ + ",sampling=" + (poisson_ ? "poisson" : "nice");
  }

  void check_clients(std::size_t clients) const override {
    if (!poisson_) per_round(clients);
  }

  TheoryStep theory_step_size(const StepSizeRule& rule, const TheoryInputs& in) const override {
    TheoryStep step;
    step.alpha = in.uplink.alpha;
    const double p = probability(in.clients);
    step.gamma = pp_theory_step_size(rule, in.constants, step.alpha, p);
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "EF21-PP rule (s = rho = 1e-3), participation probability %.6g", p);
    step.detail = buffer;
    return step;
  }

  std::unique_ptr<ClientMethod> make_client(const MethodSetup& setup, std::size_t /*client*/) const override {
    {
      const std::lock_guard lock(mutex_);
      if (!sampling_) {
        if (poisson_) {
          sampling_ = std::make_shared<PoissonSampling>(participation_);
        } else {
          sampling_ = std::make_shared<NiceSampling>(setup.clients, per_round(setup.clients), setup.seed);
        }
      }
    }
    Ef21ClientOptions options;
    options.estimator = make_full_gradient();
    options.participation = sampling_;
    return make_ef21_client(setup.dim, std::move(options));
  }

 private:
  std::size_t per_round(std::size_t clients) const {
    const auto m = static_cast<std::size_t>(std::floor(participation_ * static_cast<double>(clients)));
    if (m == 0) {
      throw ConfigError("algorithm 'ef21_pp': participation " + participation_text_ + " of " + std::to_string(clients) +
                        " clients is less than one client per round");
    }
    return m;
  }
  double probability(std::size_t clients) const {
    return poisson_ ? participation_ : static_cast<double>(per_round(clients)) / static_cast<double>(clients);
  }

  double participation_;
  std::string participation_text_;
  bool poisson_;
  // One sampling object per process, shared by the clients it hosts.
  mutable std::mutex mutex_;
  mutable std::shared_ptr<Participation> sampling_;
};

}  // namespace

std::unique_ptr<Method> make_ef21_pp(const Spec& spec) {
  const double p = spec.get_double("participation");
  if (!(p > 0.0 && p <= 1.0)) {
    throw ConfigError("algorithm 'ef21_pp': participation must be in (0, 1], got '" +
                      spec.get_string("participation") + "'");
  }
  const std::string& sampling = spec.get_string("sampling");
  if (sampling != "nice" && sampling != "poisson") {
    throw ConfigError("algorithm 'ef21_pp': sampling must be nice or poisson, got '" + sampling + "'");
  }
  return std::make_unique<Ef21Pp>(p, spec.get_string("participation"), sampling == "poisson");
}

}  // namespace ecco::detail

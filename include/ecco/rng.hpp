#pragma once
// Deterministic random streams. Every stream is derived from (global seed, client id,
// purpose), never from the clock, so a run is reproducible whatever the number of ranks.
#include <cstdint>

namespace ecco {

// What a random stream is used for; part of the seed derivation so that streams of
// different purposes are independent.
enum class SeedPurpose : std::uint64_t {
  initial_point = 1,
  compressor = 2,
  minibatch = 3,
  participation = 4,
  data_generation = 5,
  data_split = 6,
  model_init = 7,
  shared_factor = 8,
};

// Client id used for streams that belong to the server or to the whole run.
inline constexpr std::uint64_t kNoClient = ~std::uint64_t{0};

// Mixes (global seed, client, purpose) into one 64-bit seed (SplitMix64 finaliser chain).
std::uint64_t derive_seed(std::uint64_t global_seed, std::uint64_t client, SeedPurpose purpose);

// xoshiro256** generator: small, fast, and with bit-exact output on every platform
// (unlike std:: distributions, whose algorithms are implementation-defined).
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0);

  std::uint64_t next_u64();
  // Uniform double in [0, 1) with 53 random bits.
  double uniform();
  // Uniform integer in [0, bound) without modulo bias; std::invalid_argument if bound == 0.
  std::uint64_t uniform_index(std::uint64_t bound);
  // Standard normal deviate (Box-Muller with both outputs used in turn).
  double normal();

 private:
  std::uint64_t s_[4];
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

}  // namespace ecco

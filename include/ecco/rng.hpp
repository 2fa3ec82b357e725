#pragma once
// Deterministic random streams. Every stream is derived from (global seed, client id,
// purpose), never from the clock, so a run is reproducible whatever the number of ranks.
#include <cstddef>
#include <cstdint>

namespace ecco {

class StateIO;

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
  level_errors = 9,  // --adaptive lgreco: the draws of the levels' error measurements
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

  // The stream's position (checkpoints): the generator state and the spare normal deviate.
  void state(StateIO& io);

 private:
  std::uint64_t s_[4];
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

// Uniform draws for a whole vector at once (the random quantisers' per-coordinate draws):
// eight xoshiro256** generators ("lanes") advanced side by side, so that a block of draws
// costs a few vector instructions per eight values. Draw t of the sequence is output
// floor(t / 8) of lane t mod 8, turned into u = (r >> 12) 2^-52, a multiple of 2^-52 in
// [0, 1) (52 random bits). Lane l is the stream of Rng(key + l * 0xD1B54A32D192ED03) (its
// state: four SplitMix64 outputs from that seed). Integer arithmetic only: the same key gives
// the same draws on every build and CPU. A quantiser makes one from one next_u64() of the
// client's stream per call, so its draws stay reproducible and independent of the rank count.
// Cost: about 0.3 ns per draw with AVX-512 (one core of the development machine).
class UniformBlocks {
 public:
  static constexpr std::size_t kLanes = 8;

  explicit UniformBlocks(std::uint64_t key);

  // Writes the next n draws of the sequence to out[0, n). n must be a multiple of kLanes
  // except on the last call (the unused draws of a partial group are dropped).
  void fill(double* out, std::size_t n);

 private:
  alignas(64) std::uint64_t state_[4][kLanes];
};

}  // namespace ecco

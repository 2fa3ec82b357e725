#include "ecco/rng.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <stdexcept>
#include <vector>

#include "ecco/state_io.hpp"

namespace ecco {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

std::uint64_t derive_seed(std::uint64_t global_seed, std::uint64_t client, SeedPurpose purpose) {
  std::uint64_t state = global_seed;
  std::uint64_t h = splitmix64(state);
  state = h ^ client;
  h = splitmix64(state);
  state = h ^ static_cast<std::uint64_t>(purpose);
  return splitmix64(state);
}

Rng::Rng(std::uint64_t seed) {
  std::uint64_t state = seed;
  for (auto& word : s_) word = splitmix64(state);
}

std::uint64_t Rng::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

std::uint64_t Rng::uniform_index(std::uint64_t bound) {
  if (bound == 0) throw std::invalid_argument("Rng::uniform_index: bound must be > 0");
  // Lemire's method would be faster; rejection on the top range keeps it simple and exact.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
  std::uint64_t r = next_u64();
  while (r >= limit) r = next_u64();
  return r % bound;
}

double Rng::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_normal_ = radius * std::sin(angle);
  has_spare_normal_ = true;
  return radius * std::cos(angle);
}

}  // namespace ecco

namespace ecco {
namespace {

// Eight 64-bit lanes (GCC / Clang vector extension): one AVX-512 register, two AVX2 or four
// SSE2 ones; the compiler picks the instructions of the build's ECCO_ARCH.
typedef std::uint64_t Lanes __attribute__((vector_size(64)));
static_assert(sizeof(Lanes) == UniformBlocks::kLanes * sizeof(std::uint64_t));

}  // namespace

UniformBlocks::UniformBlocks(std::uint64_t key) {
  for (std::size_t lane = 0; lane < kLanes; ++lane) {
    std::uint64_t state = key + lane * 0xD1B54A32D192ED03ULL;
    for (auto& word : state_) word[lane] = splitmix64(state);
  }
}

void UniformBlocks::fill(double* out, std::size_t n) {
  // Loaded and stored with memcpy: no function takes or returns a Lanes value, whose ABI
  // depends on the instruction set.
  Lanes s0;
  Lanes s1;
  Lanes s2;
  Lanes s3;
  std::memcpy(&s0, state_[0], sizeof s0);
  std::memcpy(&s1, state_[1], sizeof s1);
  std::memcpy(&s2, state_[2], sizeof s2);
  std::memcpy(&s3, state_[3], sizeof s3);
  for (std::size_t t = 0; t < n; t += kLanes) {
    // xoshiro256**: result = rotl(s1 * 5, 7) * 9, then the state update.
    const Lanes times5 = s1 + (s1 << 2);
    const Lanes rotated = (times5 << 7) | (times5 >> 57);
    const Lanes result = rotated + (rotated << 3);
    const Lanes shifted = s1 << 17;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= shifted;
    s3 = (s3 << 45) | (s3 >> 19);
    // (r >> 12) as the mantissa of a double in [1, 2), minus 1: exact.
    const Lanes in_one_two = (result >> 12) | 0x3FF0000000000000ULL;
    double group[kLanes];
    std::memcpy(group, &in_one_two, sizeof group);
    const std::size_t count = std::min(kLanes, n - t);
    for (std::size_t l = 0; l < count; ++l) out[t + l] = group[l] - 1.0;
  }
  std::memcpy(state_[0], &s0, sizeof s0);
  std::memcpy(state_[1], &s1, sizeof s1);
  std::memcpy(state_[2], &s2, sizeof s2);
  std::memcpy(state_[3], &s3, sizeof s3);
}

}  // namespace ecco

namespace ecco {

void Rng::state(StateIO& io) {
  std::vector<std::uint64_t> words(s_, s_ + 4);
  io.field("xoshiro256", words);
  io.field("has_spare_normal", has_spare_normal_);
  io.field("spare_normal", spare_normal_);
  if (io.loading()) std::copy(words.begin(), words.end(), s_);  // the reader checked: 4 words
}

}  // namespace ecco

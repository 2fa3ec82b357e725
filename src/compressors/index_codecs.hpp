#pragma once
// Index sections of sparse messages (private to src/compressors; layouts in
// docs/wire-format.md). Writers assume strictly increasing indices < dim; readers validate
// everything and throw DecodeError, reading only inside [p, end).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ecco::detail {

// Bytes of each codec for these indices (dimension dim).
inline std::size_t raw32_bytes(std::size_t count) { return 4 * count; }
inline std::size_t bitmap_bytes(std::uint32_t dim) { return (static_cast<std::size_t>(dim) + 7) / 8; }
inline constexpr std::size_t kSeedBytes = 8;
// Sum over k of the LEB128 length of the gap v_k = i_k - i_{k-1} - 1 (v_0 = i_0). O(count).
std::size_t delta_varint_bytes(std::span<const std::uint32_t> indices);

// Each writer fills exactly its byte count at p.
void write_raw32(std::span<const std::uint32_t> indices, std::byte* p);
void write_delta_varint(std::span<const std::uint32_t> indices, std::byte* p);
void write_bitmap(std::span<const std::uint32_t> indices, std::uint32_t dim, std::byte* p);

// Each reader fills out with `count` indices from exactly [p, end) (end - p already matches
// the codec's size where that size is fixed).
void read_raw32(const std::byte* p, std::uint32_t count, std::uint32_t dim, std::vector<std::uint32_t>& out);
void read_delta_varint(const std::byte* p, const std::byte* end, std::uint32_t count, std::uint32_t dim,
                       std::vector<std::uint32_t>& out);
void read_bitmap(const std::byte* p, std::uint32_t count, std::uint32_t dim, std::vector<std::uint32_t>& out);

}  // namespace ecco::detail

#include "compressors/level_packing.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>

#include "compressors/wire_bytes.hpp"

#ifdef __BMI2__
#include <immintrin.h>
#endif

namespace ecco::detail {
namespace {

__extension__ typedef unsigned __int128 Word128;

// Groups of eight fields: 8 kWidth bits are kWidth bytes, little-endian, so group g starts at
// byte g kWidth whatever came before. Returns the number of levels written (a multiple of 8).
template <bool kSignOnly, unsigned kWidth>
std::size_t pack_groups(const std::int32_t* levels, std::size_t n, std::byte* p) {
  using Word = std::conditional_t<(8 * kWidth <= 64), std::uint64_t, Word128>;
  constexpr ValueCode kCode = kSignOnly ? ValueCode::sign : ValueCode::uniform_levels;  // sign or not is all that counts
  const std::size_t groups = n / 8;
  for (std::size_t g = 0; g < groups; ++g) {
    Word word = 0;
    for (unsigned i = 0; i < 8; ++i) {
      word |= static_cast<Word>(level_field(levels[8 * g + i], kWidth, kCode)) << (i * kWidth);
    }
    std::byte bytes[sizeof(Word)];
    for (unsigned b = 0; b < kWidth; ++b) bytes[b] = static_cast<std::byte>(static_cast<std::uint8_t>(word >> (8 * b)));
    std::memcpy(p + g * kWidth, bytes, kWidth);
  }
  return 8 * groups;
}

#ifdef __BMI2__
// With BMI2's parallel bit extract: the fields of a block are first written one per byte
// (widths <= 8) or per 16-bit word (widths <= 16) in a loop that vectorises, then each group
// of eight is gathered by one or two pext. Every group is stored as whole 64-bit words, which
// may run past its kWidth bytes with zeros that the next group overwrites; groups whose words
// would pass the end of the section are left to the caller.
template <bool kSignOnly, unsigned kWidth>
std::size_t pack_groups_pext(const std::int32_t* levels, std::size_t n, std::byte* p, std::size_t section_bytes) {
  constexpr bool kBytes = kWidth <= 8;
  using Slot = std::conditional_t<kBytes, std::uint8_t, std::uint16_t>;
  constexpr std::size_t kBlock = 256;
  constexpr std::size_t kStoreBytes = kBytes ? 8 : 16;
  constexpr std::uint64_t kFieldMask = (std::uint64_t{1} << kWidth) - 1;
  constexpr std::uint64_t kSlotMask = kBytes ? kFieldMask * 0x0101010101010101ULL : kFieldMask * 0x0001000100010001ULL;
  constexpr ValueCode kCode = kSignOnly ? ValueCode::sign : ValueCode::uniform_levels;
  // Whole groups whose stores stay inside the section.
  const std::size_t fitting = section_bytes < kStoreBytes ? 0 : (section_bytes - kStoreBytes) / kWidth + 1;
  const std::size_t groups = std::min(n / 8, fitting);
  Slot slots[kBlock];
  for (std::size_t first = 0; first < 8 * groups; first += kBlock) {
    const std::size_t count = std::min(kBlock, 8 * groups - first);
    for (std::size_t i = 0; i < count; ++i) slots[i] = static_cast<Slot>(level_field(levels[first + i], kWidth, kCode));
    for (std::size_t i = 0; i < count; i += 8) {
      std::byte* out = p + (first + i) / 8 * kWidth;
      std::uint64_t a = 0;
      std::memcpy(&a, slots + i, 8);
      if constexpr (kBytes) {
        const std::uint64_t word = _pext_u64(a, kSlotMask);
        std::memcpy(out, &word, 8);
      } else {
        std::uint64_t b = 0;
        std::memcpy(&b, slots + i + 4, 8);
        const std::uint64_t low = _pext_u64(a, kSlotMask);   // 4 kWidth bits
        const std::uint64_t high = _pext_u64(b, kSlotMask);  // 4 kWidth bits
        std::uint64_t word0 = low;
        std::uint64_t word1 = high;
        if constexpr (4 * kWidth < 64) {
          word0 |= high << (4 * kWidth);
          word1 = high >> (64 - 4 * kWidth);
        }
        std::memcpy(out, &word0, 8);
        std::memcpy(out + 8, &word1, 8);
      }
    }
  }
  return 8 * groups;
}
#endif

template <unsigned kWidth>
std::size_t pack_groups_for(const std::int32_t* levels, std::size_t n, bool sign_only, std::byte* p,
                            [[maybe_unused]] std::size_t section_bytes) {
#ifdef __BMI2__
  if constexpr (kWidth == 1) {
    return sign_only ? pack_groups_pext<true, 1>(levels, n, p, section_bytes) : 0;
  } else {
    return pack_groups_pext<false, kWidth>(levels, n, p, section_bytes);
  }
#else
  if constexpr (kWidth == 1) {
    return sign_only ? pack_groups<true, 1>(levels, n, p) : 0;  // width 1 is the sign code's only
  } else {
    return pack_groups<false, kWidth>(levels, n, p);
  }
#endif
}

template <unsigned... kWidths>
std::size_t pack_groups_dispatch(std::integer_sequence<unsigned, kWidths...> /*widths*/, unsigned width,
                                 const std::int32_t* levels, std::size_t n, bool sign_only, std::byte* p,
                                 std::size_t section_bytes) {
  std::size_t done = 0;
  (void)((width == kWidths + 1 ? (done = pack_groups_for<kWidths + 1>(levels, n, sign_only, p, section_bytes), true)
                               : false) ||
         ...);
  return done;
}

}  // namespace

void pack_levels(const std::int32_t* levels, std::size_t n, ValueCode code, unsigned width, std::byte* p) {
  const bool sign_only = code == ValueCode::sign;
  const std::size_t section_bytes = (n * width + 7) / 8;
  const std::size_t done =
      pack_groups_dispatch(std::make_integer_sequence<unsigned, 16>{}, width, levels, n, sign_only, p, section_bytes);
  // The rest (fewer than 8 fields, or every field of a width over 16) one at a time, starting
  // on the byte boundary where the groups ended.
  BitWriter writer(p + done / 8 * width, width);
  for (std::size_t k = done; k < n; ++k) writer.put(level_field(levels[k], width, code));
  writer.flush();
}

}  // namespace ecco::detail

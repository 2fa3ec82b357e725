#pragma once
// Frames: how messages travel between processes (private to src/train). A frame is a
// little-endian uint32 length followed by that many bytes of one encoded message (codec.hpp);
// length 0 stands for a client that sent nothing.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "ecco/codec.hpp"
#include "ecco/error.hpp"
#include "ecco/message.hpp"

namespace ecco::detail {

constexpr std::size_t kFrameLengthBytes = 4;

// Appends one frame to `frames`: the message encoded in `format`, or an empty frame when
// message is null. Returns the encoded message's size split (zero for an empty frame).
inline EncodedSize append_frame(const Message* message, ValueFormat format, std::vector<std::byte>& frames) {
  const std::size_t at = frames.size();
  frames.resize(at + kFrameLengthBytes);
  const EncodedSize split = message != nullptr ? encode(*message, format, frames) : EncodedSize{};
  const std::size_t size = split.total();
  if (size > 0xFFFFFFFFU) throw ConfigError("a message of " + std::to_string(size) + " bytes exceeds a frame's 4 GiB");
  for (std::size_t b = 0; b < kFrameLengthBytes; ++b) {
    frames[at + b] = static_cast<std::byte>((size >> (8 * b)) & 0xFFU);
  }
  return split;
}

// Reads frames one after the other from a block of received bytes; every read is checked
// against the end of the block (DecodeError naming `what` otherwise).
class FrameReader {
 public:
  explicit FrameReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  // The next frame's bytes (empty for an empty frame). `what` and `number` name the frame in
  // an error ("message of client" 3); the text is built only when there is one.
  std::span<const std::byte> next(const char* what, std::size_t number) {
    if (bytes_.size() - at_ < kFrameLengthBytes) {
      throw DecodeError(std::string("frames end before the ") + what + " " + std::to_string(number));
    }
    std::size_t size = 0;
    for (std::size_t b = 0; b < kFrameLengthBytes; ++b) size |= static_cast<std::size_t>(bytes_[at_ + b]) << (8 * b);
    at_ += kFrameLengthBytes;
    if (size > bytes_.size() - at_) {
      throw DecodeError(std::string("frame of the ") + what + " " + std::to_string(number) + " claims " +
                        std::to_string(size) + " bytes, only " + std::to_string(bytes_.size() - at_) + " remain");
    }
    const auto frame = bytes_.subspan(at_, size);
    at_ += size;
    return frame;
  }

  // DecodeError if bytes remain after the last frame.
  void expect_end() const {
    if (at_ != bytes_.size()) {
      throw DecodeError(std::to_string(bytes_.size() - at_) + " unexpected bytes after the last message");
    }
  }

 private:
  std::span<const std::byte> bytes_;
  std::size_t at_ = 0;
};

}  // namespace ecco::detail

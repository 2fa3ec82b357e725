#pragma once
// ShardedExchange: the framing of --aggregation sharded (private to src/train).
//
// The d coordinates are cut into K = ceil(d / C) chunks of C coordinates (the last one
// shorter); chunk j covers [j C, min(d, (j + 1) C)). Rank r owns the contiguous chunks
// [floor(r K / P), floor((r + 1) K / P)) (none when K < P for some r). The chunks depend on
// C and d only; their owners on P, which changes where work runs but never the result.
//
// Uplink: each process sends to rank r, for each of its clients in client order, one frame
// per chunk r owns: the client's message restricted to the chunk (restrict_message), or an
// empty frame when the client sent nothing. Rank r then sees, for every client in client
// order, its chunks of that client's message, and gives the server a parts message whose
// part j is the decoded chunk for the chunks it owns and an empty sparse part elsewhere:
// the same values, added in the same order per coordinate, as the whole message in gather
// mode. Downlink: each rank encodes its chunks of the downlink it made, the ranks allgather
// them (rank order is chunk order), and every rank applies the parts message of all K chunks.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ecco/codec.hpp"
#include "ecco/message.hpp"
#include "train/frames.hpp"

namespace ecco::detail {

class ShardedExchange {
 public:
  ShardedExchange(std::uint32_t dim, std::size_t chunk, int rank, int ranks);

  std::size_t chunks() const { return chunk_count_; }
  // The chunks rank r owns: [first_chunk(r), first_chunk(r + 1)).
  std::size_t first_chunk(int r) const;

  // Uplink, sender side: begin_uplink(), then add_client() for each local client in client
  // order (null: it sent nothing); then blocks() / block_sizes() for Transport::alltoall.
  // Returns the encoded bytes split of the client's pieces.
  void begin_uplink();
  EncodedSize add_client(const Message* message, ValueFormat wire);
  std::span<const std::byte> blocks();
  std::span<const std::size_t> block_sizes() const { return sizes_; }

  // Uplink, receiver side: reads `received` (this rank's chunks of every client's message,
  // source ranks in rank order). For client i, `message` becomes the parts message of its
  // chunks (see above); returns false when client i sent nothing. Call for i = 0, 1, ...,
  // n - 1 in order after begin_receive. (The bits are counted by the senders: add_client.)
  void begin_receive(std::span<const std::byte> received);
  bool next_client(std::size_t client, Message& message);
  void end_receive() const;

  // Downlink: this rank's chunks of `downlink` as frames (format: the downlink's own).
  void own_downlink(const Message& downlink, ValueFormat format, std::vector<std::byte>& out);
  // The whole downlink from the allgathered frames of every rank: a parts message of K chunks.
  void assemble_downlink(std::span<const std::byte> all, Message& out);

 private:
  std::uint32_t chunk_first(std::size_t j) const { return static_cast<std::uint32_t>(j * chunk_); }
  std::uint32_t chunk_length(std::size_t j) const;

  std::uint32_t dim_;
  std::size_t chunk_;
  std::size_t chunk_count_;
  int rank_;
  int ranks_;
  std::vector<std::vector<std::byte>> to_rank_;  // uplink frames per destination
  std::vector<std::byte> blocks_;                // to_rank_ concatenated
  std::vector<std::size_t> sizes_;
  Message piece_;
  std::optional<FrameReader> reader_;
};

}  // namespace ecco::detail

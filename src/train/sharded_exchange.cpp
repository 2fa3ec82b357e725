#include "train/sharded_exchange.hpp"

#include <algorithm>
#include <string>

namespace ecco::detail {

ShardedExchange::ShardedExchange(std::uint32_t dim, std::size_t chunk, int rank, int ranks)
    : dim_(dim),
      chunk_(chunk),
      chunk_count_((static_cast<std::size_t>(dim) + chunk - 1) / chunk),
      rank_(rank),
      ranks_(ranks),
      to_rank_(static_cast<std::size_t>(ranks)),
      sizes_(static_cast<std::size_t>(ranks), 0) {}

std::size_t ShardedExchange::first_chunk(int r) const {
  return chunk_count_ * static_cast<std::size_t>(r) / static_cast<std::size_t>(ranks_);
}

std::uint32_t ShardedExchange::chunk_length(std::size_t j) const {
  return static_cast<std::uint32_t>(std::min<std::size_t>(chunk_, dim_ - j * chunk_));
}

void ShardedExchange::begin_uplink() {
  for (auto& block : to_rank_) block.clear();
}

EncodedSize ShardedExchange::add_client(const Message* message, ValueFormat wire) {
  EncodedSize total;
  for (int r = 0; r < ranks_; ++r) {
    for (std::size_t j = first_chunk(r); j < first_chunk(r + 1); ++j) {
      if (message == nullptr) {
        append_frame(nullptr, wire, to_rank_[static_cast<std::size_t>(r)]);
        continue;
      }
      restrict_message(*message, chunk_first(j), chunk_length(j), piece_);
      const EncodedSize split = append_frame(&piece_, wire, to_rank_[static_cast<std::size_t>(r)]);
      total.header += split.header;
      total.index += split.index;
      total.value += split.value;
    }
  }
  return total;
}

std::span<const std::byte> ShardedExchange::blocks() {
  blocks_.clear();
  for (std::size_t r = 0; r < to_rank_.size(); ++r) {
    sizes_[r] = to_rank_[r].size();
    blocks_.insert(blocks_.end(), to_rank_[r].begin(), to_rank_[r].end());
  }
  return blocks_;
}

void ShardedExchange::begin_receive(std::span<const std::byte> received) { reader_.emplace(received); }

bool ShardedExchange::next_client(std::size_t client, Message& message) {
  const std::size_t first = first_chunk(rank_);
  const std::size_t last = first_chunk(rank_ + 1);
  bool sent = false;
  for (std::size_t j = first; j < last; ++j) {
    const auto frame = reader_->next("chunks of the message of client", client);
    if (j == first) {
      sent = !frame.empty();
      if (!sent) continue;
      message.set_parts(dim_, static_cast<std::uint32_t>(chunk_count_));
      for (std::size_t k = 0; k < chunk_count_; ++k) message.parts[k].clear_sparse(chunk_length(k));
    } else if (frame.empty() == sent) {
      throw DecodeError("client " + std::to_string(client) + " sent some chunks of its message and not others");
    }
    if (!sent) continue;
    try {
      decode(frame, chunk_length(j), message.parts[j]);
    } catch (const DecodeError& e) {
      throw DecodeError("chunk " + std::to_string(j) + " of client " + std::to_string(client) + "'s message: " +
                        e.what());
    }
    if (message.parts[j].layout == Layout::parts) {
      throw DecodeError("chunk " + std::to_string(j) + " of client " + std::to_string(client) +
                        "'s message is itself a per-tensor message");
    }
  }
  return sent;
}

void ShardedExchange::end_receive() const { reader_->expect_end(); }

void ShardedExchange::own_downlink(const Message& downlink, ValueFormat format, std::vector<std::byte>& out) {
  out.clear();
  for (std::size_t j = first_chunk(rank_); j < first_chunk(rank_ + 1); ++j) {
    restrict_message(downlink, chunk_first(j), chunk_length(j), piece_);
    append_frame(&piece_, format, out);
  }
}

void ShardedExchange::assemble_downlink(std::span<const std::byte> all, Message& out) {
  FrameReader reader(all);
  out.set_parts(dim_, static_cast<std::uint32_t>(chunk_count_));
  for (std::size_t j = 0; j < chunk_count_; ++j) {
    const auto frame = reader.next("downlink's chunk", j);
    try {
      decode(frame, chunk_length(j), out.parts[j]);
    } catch (const DecodeError& e) {
      throw DecodeError("chunk " + std::to_string(j) + " of the downlink: " + e.what());
    }
    if (out.parts[j].layout == Layout::parts) {
      throw DecodeError("chunk " + std::to_string(j) + " of the downlink is itself a per-tensor message");
    }
  }
  reader.expect_end();
}

}  // namespace ecco::detail

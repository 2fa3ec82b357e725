// Per-tensor compression: the parts message layout (message.hpp, codec.hpp, wire-format.md
// "Parts layout") and make_tensorwise_compressor (compressor.hpp).
//
// Expected bytes come from the independent implementation in wire_reference.hpp; the
// expected compressor outputs from references written here (TopK by sorting each segment,
// the other specs applied by hand to each segment with one random stream in tensor order).
// Malformed parts messages are in test_codec_errors.cpp, the allocation-free round trip in
// test_no_allocation.cpp. Every method is run on parts messages against the same method on
// equivalent plain sparse messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "codec_test_util.hpp"
#include "ecco/algorithm.hpp"
#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/error.hpp"
#include "ecco/dataset.hpp"
#include "ecco/tensor_layout.hpp"
#include "method_harness.hpp"

namespace {

using namespace codec_test;
using ecco::CompressorClass;
using ecco::CompressorTraits;
using ecco::CompressorWorkspace;
using ecco::EncodedSize;
using ecco::IndexCodec;
using ecco::TensorLayout;
using ecco::TensorShape;

// ---------------------------------------------------------------------------------------
// Helpers

// Bit-exact comparison of two messages, parts included (values through their bit patterns).
void expect_same_message(const Message& a, const Message& b, const std::string& where) {
  SCOPED_TRACE(where);
  ASSERT_EQ(a.layout, b.layout);
  ASSERT_EQ(a.dim, b.dim);
  EXPECT_EQ(a.tag, b.tag);
  if (a.layout == Layout::parts) {
    ASSERT_EQ(a.part_count, b.part_count);
    for (std::size_t k = 0; k < a.part_count; ++k) {
      expect_same_message(a.parts[k], b.parts[k], where + ", part " + std::to_string(k));
    }
    return;
  }
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(bits(a.values), bits(b.values));
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.levels, b.levels);
  EXPECT_EQ(a.level_count, b.level_count);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(a.scale), std::bit_cast<std::uint64_t>(b.scale));
  EXPECT_EQ(a.seeded, b.seeded);
  if (a.seeded) {
    EXPECT_EQ(a.seed, b.seed);
  }
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  EXPECT_EQ(a.rank, b.rank);
}

Message seeded_sparse(std::uint32_t dim, std::uint32_t count, std::uint64_t seed, Rng& rng) {
  Message m = sparse_message(dim, {}, {});
  m.seeded = true;
  m.seed = seed;
  ecco::sample_indices(seed, dim, count, m.indices);
  m.values.resize(count);
  for (double& v : m.values) v = rng.normal();
  return m;
}

// A parts message with a part of every kind: dense, sparse (three, so that each index codec
// can be forced on them), quantised with each code, lowrank, seeded.
Message mixed_parts(Rng& rng, bool with_seeded) {
  std::vector<Message> parts = {
      random_dense(5, rng),
      random_sparse(300, 4, rng),
      random_sparse(64, 30, rng),
      quantised_message(dense_message(std::vector<double>(9)), ValueCode::uniform_levels, 4, 2.5,
                        random_levels(9, 4, true, rng)),
      quantised_message(sparse_message(50, {3, 17, 49}, {0, 0, 0}), ValueCode::power_levels, 3, 0.75,
                        random_levels(3, 3, true, rng)),
      quantised_message(dense_message(std::vector<double>(6)), ValueCode::natural, 0, 1.0,
                        random_levels(6, 254, true, rng)),
      quantised_message(dense_message(std::vector<double>(11)), ValueCode::sign, 0, 0.5,
                        random_levels(11, 1, false, rng)),
      lowrank_message(12, 4, 2, rng),
      random_sparse(1000, 0, rng),
  };
  if (with_seeded) parts.push_back(seeded_sparse(2000, 7, 0xABCDEFULL, rng));  // the seed is smallest
  return parts_message(parts);
}

// A small model: weight matrices, biases, an embedding, a scalar.
TensorLayout test_layout() {
  TensorLayout layout;
  std::size_t at = 0;
  const auto add = [&](const char* name, std::size_t rows, std::size_t cols) {
    layout.push_back(TensorShape{name, at, rows, cols});
    at += rows * cols;
  };
  add("fc1.weight", 40, 30);
  add("fc1.bias", 40, 1);
  add("fc2.weight", 10, 40);
  add("fc2.bias", 10, 1);
  add("emb", 3, 50);
  add("scale", 1, 1);
  add("fc3.weight", 25, 8);
  return layout;
}

Eigen::VectorXd random_vector(std::size_t d, Rng& rng) {
  Eigen::VectorXd x(static_cast<Eigen::Index>(d));
  for (Eigen::Index j = 0; j < x.size(); ++j) x[j] = rng.normal();
  return x;
}

Eigen::VectorXd segment_of(const Eigen::VectorXd& x, const TensorShape& t) {
  return x.segment(static_cast<Eigen::Index>(t.offset), static_cast<Eigen::Index>(t.size()));
}

Eigen::VectorXd dense_of(const Message& m) {
  Eigen::VectorXd y(static_cast<Eigen::Index>(m.dim));
  m.assign_to(y);
  return y;
}

// TopK of v by sorting: the K largest |v_j|, ties to the smaller index, in index order.
Message reference_topk(const Eigen::VectorXd& v, std::size_t k) {
  std::vector<std::uint32_t> order(static_cast<std::size_t>(v.size()));
  std::iota(order.begin(), order.end(), 0U);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return std::fabs(v[a]) > std::fabs(v[b]); });
  order.resize(k);
  std::sort(order.begin(), order.end());
  std::vector<double> values;
  for (const std::uint32_t j : order) values.push_back(v[j]);
  return sparse_message(static_cast<std::uint32_t>(v.size()), order, values);
}

// ---------------------------------------------------------------------------------------
// The parts message

TEST(PartsMessage, AddToAndAssignToWorkPartByPart) {
  Rng rng(1);
  const Message m = mixed_parts(rng, true);
  const std::vector<double> expected = to_dense(m);  // computed without Message::add_to
  Eigen::VectorXd y(static_cast<Eigen::Index>(m.dim));
  m.assign_to(y);
  for (std::size_t j = 0; j < expected.size(); ++j) ASSERT_EQ(y[static_cast<Eigen::Index>(j)], expected[j]) << j;
  // add_to on a non-zero y with a factor: y + factor * each part on its own segment.
  Eigen::VectorXd base = random_vector(m.dim, rng);
  Eigen::VectorXd got = base;
  m.add_to(got, -0.5);
  Eigen::VectorXd want = base;
  Eigen::Index at = 0;
  for (std::size_t k = 0; k < m.part_count; ++k) {
    const auto n = static_cast<Eigen::Index>(m.parts[k].dim);
    Eigen::VectorXd segment = want.segment(at, n);
    m.parts[k].add_to(segment, -0.5);
    want.segment(at, n) = segment;
    at += n;
  }
  EXPECT_EQ(got, want);
}

TEST(PartsMessage, SetPartsGrowsButNeverShrinksThePartsVector) {
  Message m;
  m.set_parts(10, 4);
  EXPECT_EQ(m.layout, Layout::parts);
  EXPECT_EQ(m.dim, 10U);
  EXPECT_EQ(m.part_count, 4U);
  ASSERT_EQ(m.parts.size(), 4U);
  m.parts[3].values.assign(100, 1.0);
  const double* buffer = m.parts[3].values.data();
  m.set_parts(10, 2);
  EXPECT_EQ(m.part_count, 2U);
  EXPECT_EQ(m.parts.size(), 4U);
  EXPECT_EQ(m.active_parts().size(), 2U);
  m.set_dense(Eigen::VectorXd::Ones(3));
  EXPECT_EQ(m.part_count, 0U);  // no longer a parts message
  EXPECT_EQ(m.parts.size(), 4U);
  m.set_parts(10, 4);
  EXPECT_EQ(m.parts[3].values.data(), buffer);  // the spare part kept its buffer
  m.set_parts(10, 6);
  EXPECT_EQ(m.parts.size(), 6U);
  // active_parts never reaches past the vector.
  m.part_count = 9;
  EXPECT_EQ(m.active_parts().size(), 6U);
}

TEST(PartsMessage, RoundTripOfMixedPartsInEveryFormat) {
  Rng rng(2);
  for (const ValueFormat f : kFormats) {
    for (const bool tagged : {false, true}) {
      Message client = mixed_parts(rng, true);
      client.tag = tagged ? 1 : 0;
      ecco::round_to_wire(client, f);
      const Bytes b = encode_to_bytes(client, f);
      Message server;
      decode_exact(b, client.dim, server);
      SCOPED_TRACE(std::string(ecco::to_string(f)) + (tagged ? " tagged" : ""));
      EXPECT_EQ(server.layout, Layout::parts);
      EXPECT_EQ(server.tag, client.tag);
      ASSERT_EQ(server.part_count, client.part_count);
      // Dense views agree bit for bit (a sparse part may arrive dense: compare through +0).
      const std::vector<double> a = to_dense(client);
      const std::vector<double> c = to_dense(server);
      ASSERT_EQ(a.size(), c.size());
      for (std::size_t j = 0; j < a.size(); ++j) {
        ASSERT_EQ(std::bit_cast<std::uint64_t>(a[j] + 0.0), std::bit_cast<std::uint64_t>(c[j] + 0.0)) << j;
      }
      // Part by part: the codec keeps every part's layout unless the dense layout is smaller.
      for (std::size_t k = 0; k < client.part_count; ++k) {
        const Message& sent = client.parts[k];
        const Message& got = server.parts[k];
        if (ecco::encoded_size(sent, f).layout == sent.layout) {
          expect_same_message(sent, got, "part " + std::to_string(k));
        } else {
          EXPECT_EQ(got.layout, Layout::dense);
        }
      }
      // Re-encoding what was decoded gives the same bytes.
      EXPECT_EQ(encode_to_bytes(server, f), b);
    }
  }
}

TEST(PartsMessage, EveryForcedIndexCodecAppliesToEverySparsePart) {
  Rng rng(3);
  for (const ValueFormat f : kFormats) {
    for (const IndexCodec codec : {IndexCodec::raw32, IndexCodec::delta_varint, IndexCodec::bitmap}) {
      Message client = mixed_parts(rng, false);
      ecco::round_to_wire(client, f);
      const Bytes b = encode_to_bytes(client, {.format = f, .index = codec});
      Message server;
      decode_exact(b, server);
      ASSERT_EQ(server.part_count, client.part_count);
      for (std::size_t k = 0; k < client.part_count; ++k) {
        expect_same_message(client.parts[k], server.parts[k],
                            std::string(ecco::to_string(codec)) + " part " + std::to_string(k));
      }
      // The part's index codec byte on the wire, found through the framing.
      std::size_t at = 20;
      for (std::size_t k = 0; k < client.part_count; ++k) {
        const std::size_t length = wire_ref::read_u32(b, at);
        const unsigned expected = client.parts[k].layout == Layout::sparse ? static_cast<unsigned>(codec) : 0U;
        EXPECT_EQ(static_cast<unsigned>(b[at + 4 + 7]), expected) << "part " << k;
        at += 4 + length;
      }
      EXPECT_EQ(at, b.size());
    }
  }
  // The seed codec needs every sparse part seeded.
  Message seeded = parts_message({random_dense(2, rng), seeded_sparse(100, 5, 7, rng)});
  ecco::round_to_wire(seeded, ValueFormat::fp32);
  Message server;
  decode_exact(encode_to_bytes(seeded, {.format = ValueFormat::fp32, .index = IndexCodec::seed}), server);
  expect_same_message(seeded, server, "seed");
  Bytes out;
  EXPECT_THROW(ecco::encode(mixed_parts(rng, true), {.format = ValueFormat::fp32, .index = IndexCodec::seed}, out),
               std::invalid_argument);
  EXPECT_TRUE(out.empty());
}

TEST(PartsMessage, BytesEqualTheReference) {
  Rng rng(4);
  for (const ValueFormat f : kFormats) {
    for (const std::uint8_t tag : {std::uint8_t{0}, std::uint8_t{2}}) {
      Message dense = random_dense(6, rng);
      Message sparse = random_sparse(5000, 3, rng);  // delta-varint is smallest
      Message levels = quantised_message(dense_message(std::vector<double>(7)), ValueCode::uniform_levels, 5, 1.25,
                                         random_levels(7, 5, true, rng));
      Message lowrank = lowrank_message(10, 5, 1, rng);
      Message m = parts_message({dense, sparse, levels, lowrank}, tag);
      ecco::round_to_wire(m, f);
      const Bytes b = encode_to_bytes(m, f);

      // Reference parts, field by field from wire-format.md.
      const Bytes ref_dense = wire_ref::dense_raw(f, m.parts[0].values);
      const Bytes ref_sparse = wire_ref::sparse_raw(f, 2, 5000, m.parts[1].indices, m.parts[1].values);
      wire_ref::Parts q;
      q.value_codec = 16;
      q.dim = 7;
      q.count = 7;
      wire_ref::append_u32(q.params, 5);
      wire_ref::append_u32(q.params, std::bit_cast<std::uint32_t>(1.25f));
      std::vector<std::uint32_t> fields;
      for (const std::int32_t l : m.parts[2].levels) fields.push_back(wire_ref::level_field(l, wire_ref::bits_for(5)));
      q.values = wire_ref::pack(fields, 1 + wire_ref::bits_for(5));
      wire_ref::Parts r;
      r.layout = 3;
      r.value_codec = wire_ref::tag(f);
      r.dim = 10;
      r.count = 1 * (5 + 2);
      for (const std::uint32_t v : {5U, 2U, 1U}) wire_ref::append_u32(r.params, v);
      for (const double v : m.parts[3].values) wire_ref::append_value(r.values, v, f);
      const std::vector<Bytes> parts = {ref_dense, ref_sparse, wire_ref::assemble(q), wire_ref::assemble(r)};
      const Bytes expected = wire_ref::parts_message(m.dim, parts, tag);
      ASSERT_EQ(b, expected) << ecco::to_string(f) << " tag " << int{tag};
      EXPECT_EQ(wire_ref::read_u32(b, 16), wire_ref::message_crc(b));

      // Sizes: header = 20 (+ tag) + 4 per part + the parts' headers; sections summed.
      const EncodedSize size = ecco::encoded_size(m, f);
      const std::size_t part_headers = 20 + 20 + (20 + 8) + (20 + 12);
      EXPECT_EQ(size.header, 20 + (tag != 0 ? 1U : 0U) + 4 * 4 + part_headers);
      EXPECT_EQ(size.index, ref_sparse.size() - 20 - 3 * wire_ref::width_of(f));
      EXPECT_EQ(size.total(), b.size());
      EXPECT_EQ(size.layout, Layout::parts);
      EXPECT_EQ(size.index_codec, IndexCodec::none);
      Bytes out;
      const EncodedSize produced = ecco::encode(m, f, out);
      Message back;
      const EncodedSize decoded = ecco::decode(out, back);
      for (const EncodedSize& s : {produced, decoded}) {
        EXPECT_EQ(s.header, size.header);
        EXPECT_EQ(s.index, size.index);
        EXPECT_EQ(s.value, size.value);
        EXPECT_EQ(s.layout, Layout::parts);
      }
    }
  }
}

TEST(PartsMessage, TheDocumentedExampleIs85Bytes) {
  const Message m = parts_message({dense_message({1, 2, 3}), sparse_message(7, {4}, {0.5})});
  const Bytes b = encode_to_bytes(m, ValueFormat::fp32);
  EXPECT_EQ(b.size(), 85U);
  EXPECT_EQ(b, wire_ref::parts_message(10, {wire_ref::dense_raw(ValueFormat::fp32, {1, 2, 3}),
                                            wire_ref::sparse_raw(ValueFormat::fp32, 2, 7, {4}, {0.5})}));
}

TEST(PartsMessage, EncodeAppendsAndLeavesTheOutputUnchangedOnErrors) {
  Rng rng(5);
  Bytes out = {std::byte{0xEE}};
  const Message m = mixed_parts(rng, true);
  const EncodedSize size = ecco::encode(m, ValueFormat::fp64, out);
  ASSERT_EQ(out.size(), 1 + size.total());
  EXPECT_EQ(Bytes(out.begin() + 1, out.end()), encode_to_bytes(m, ValueFormat::fp64));
  // A value that overflows fp16 in the last part: NumericError naming the model's coordinate.
  Message bad = parts_message({dense_message({1.0, 2.0}), sparse_message(10, {3, 8}, {1.0, 1e6})});
  const Bytes before = out;
  try {
    ecco::encode(bad, ValueFormat::fp16, out);
    ADD_FAILURE() << "encode accepted an overflowing value";
  } catch (const ecco::NumericError& e) {
    EXPECT_NE(std::string(e.what()).find("coordinate 10"), std::string::npos) << e.what();
  }
  EXPECT_EQ(out, before);
  try {
    ecco::round_to_wire(bad, ValueFormat::fp16);
    ADD_FAILURE() << "round_to_wire accepted an overflowing value";
  } catch (const ecco::NumericError& e) {
    EXPECT_NE(std::string(e.what()).find("coordinate 10"), std::string::npos) << e.what();
  }
  bad.parts[0].values[1] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(ecco::round_to_wire(bad, ValueFormat::fp32), ecco::NumericError);
}

TEST(PartsMessage, InvalidStructureIsAnInvalidArgument) {
  Rng rng(6);
  Bytes out;
  const Message nested = parts_message({random_dense(2, rng), parts_message({random_dense(3, rng)})});
  EXPECT_THROW(ecco::encode(nested, ValueFormat::fp32, out), std::invalid_argument);
  Message short_sum = parts_message({random_dense(2, rng), random_dense(3, rng)});
  short_sum.dim = 6;
  EXPECT_THROW(ecco::encode(short_sum, ValueFormat::fp32, out), std::invalid_argument);
  short_sum.dim = 4;
  EXPECT_THROW(ecco::encode(short_sum, ValueFormat::fp32, out), std::invalid_argument);
  Message none = parts_message({});
  none.dim = 3;
  EXPECT_THROW(ecco::encode(none, ValueFormat::fp32, out), std::invalid_argument);
  Message beyond = parts_message({random_dense(2, rng)});
  beyond.part_count = 2;
  EXPECT_THROW(ecco::encode(beyond, ValueFormat::fp32, out), std::invalid_argument);
  Message with_values = parts_message({random_dense(2, rng)});
  with_values.values = {1.0};
  EXPECT_THROW(ecco::encode(with_values, ValueFormat::fp32, out), std::invalid_argument);
  Message bad_part = parts_message({random_dense(2, rng), sparse_message(5, {3, 1}, {1, 2})});
  EXPECT_THROW(ecco::encode(bad_part, ValueFormat::fp32, out), std::invalid_argument);
  EXPECT_TRUE(out.empty());
}

TEST(PartsMessage, DecodeReusesPartsAndResetsStaleState) {
  Rng rng(7);
  Message out;
  const Message big = mixed_parts(rng, true);
  decode_exact(encode_to_bytes(big, ValueFormat::fp64), out);
  ASSERT_EQ(out.part_count, big.part_count);
  const std::size_t grown = out.parts.size();
  const Message small = parts_message({random_dense(3, rng), random_sparse(20, 2, rng)}, 2);
  decode_exact(encode_to_bytes(small, ValueFormat::fp64), out);
  EXPECT_EQ(out.part_count, 2U);
  EXPECT_EQ(out.parts.size(), grown);  // never shrunk
  EXPECT_EQ(out.tag, 2);
  EXPECT_EQ(bits(to_dense(out)), bits(to_dense(small)));
  // A plain message after a parts message: no parts, no tag.
  const Message dense = random_dense(4, rng);
  decode_exact(encode_to_bytes(dense, ValueFormat::fp64), out);
  EXPECT_EQ(out.layout, Layout::dense);
  EXPECT_EQ(out.part_count, 0U);
  EXPECT_EQ(out.tag, 0);
  EXPECT_EQ(out.values, dense.values);
  // And a parts message after it: no stale values or levels on the outer message.
  decode_exact(encode_to_bytes(big, ValueFormat::fp64), out);
  EXPECT_TRUE(out.values.empty());
  EXPECT_TRUE(out.levels.empty());
  EXPECT_EQ(out.code, ValueCode::raw);
  EXPECT_EQ(bits(to_dense(out)), bits(to_dense(big)));
  // The expected dimension is the whole message's.
  EXPECT_THROW(decode_exact(encode_to_bytes(big, ValueFormat::fp64), big.dim - 1, out), ecco::DecodeError);
}

// ---------------------------------------------------------------------------------------
// The compressor

TEST(TensorWise, TopKKeepsTheFractionOfEachTensor) {
  const TensorLayout layout = test_layout();
  const std::size_t d = ecco::layout_dim(layout);
  Rng data(10);
  for (const std::string spec : {"topk:k=0.1", "topk:k=0.013", "topk:k=3"}) {
    const auto c = ecco::make_tensorwise_compressor(spec, layout, 0);
    for (int trial = 0; trial < 3; ++trial) {
      Eigen::VectorXd x = random_vector(d, data);
      if (trial == 2) {
        for (Eigen::Index j = 0; j < x.size(); ++j) x[j] = std::round(x[j]);  // many ties
      }
      Rng rng(1);
      CompressorWorkspace ws;
      Message out;
      c->compress(x, rng, ws, out);
      ASSERT_EQ(out.layout, Layout::parts);
      ASSERT_EQ(out.dim, d);
      ASSERT_EQ(out.part_count, layout.size());
      for (std::size_t k = 0; k < layout.size(); ++k) {
        const std::size_t n = layout[k].size();
        std::size_t kept = 3;
        if (spec != "topk:k=3") {
          const double fraction = spec == "topk:k=0.1" ? 0.1 : 0.013;
          kept = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n))));
        }
        kept = std::min(kept, n);
        const Message expected = reference_topk(segment_of(x, layout[k]), kept);
        expect_same_message(out.parts[k], expected, spec + " tensor " + layout[k].name);
      }
    }
  }
}

TEST(TensorWise, LowRankUsesEachTensorsShapeWithItsOwnWarmStart) {
  const TensorLayout layout = test_layout();
  const std::size_t d = ecco::layout_dim(layout);
  for (const std::size_t r : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
    const auto c = ecco::make_tensorwise_compressor("lowrank:r=" + std::to_string(r), layout, 0);
    // Reference: lowrank:r=R,rows=<rows> on each factorised tensor, each with its own
    // workspace, one stream in tensor order; the others are sent as they are.
    std::vector<std::unique_ptr<ecco::Compressor>> references;
    for (const TensorShape& t : layout) {
      const bool factorised = t.cols != 1 && std::min(t.rows, t.cols) > r;
      references.push_back(factorised ? ecco::make_compressor("lowrank:r=" + std::to_string(r) +
                                                              ",rows=" + std::to_string(t.rows))
                                      : nullptr);
    }
    std::vector<CompressorWorkspace> reference_ws(layout.size());
    Rng rng(5);
    Rng replay(5);
    Rng data(11);
    CompressorWorkspace ws;
    Message out;
    for (int call = 0; call < 4; ++call) {  // the warm starts carry over from call to call
      const Eigen::VectorXd x = random_vector(d, data);
      c->compress(x, rng, ws, out);
      ASSERT_EQ(out.part_count, layout.size());
      for (std::size_t k = 0; k < layout.size(); ++k) {
        const Eigen::VectorXd segment = segment_of(x, layout[k]);
        const std::string where = "r=" + std::to_string(r) + " call " + std::to_string(call) + " " + layout[k].name;
        if (references[k] == nullptr) {
          EXPECT_EQ(out.parts[k].layout, Layout::dense) << where;
          EXPECT_EQ(out.parts[k].values, std::vector<double>(segment.data(), segment.data() + segment.size())) << where;
          continue;
        }
        Message expected;
        references[k]->compress(segment, replay, reference_ws[k], expected);
        ASSERT_EQ(out.parts[k].layout, Layout::lowrank) << where;
        EXPECT_EQ(out.parts[k].rows, layout[k].rows) << where;
        EXPECT_EQ(out.parts[k].cols, layout[k].cols) << where;
        expect_same_message(out.parts[k], expected, where);
      }
    }
    // Both streams made the same draws.
    EXPECT_EQ(rng.next_u64(), replay.next_u64());
  }
}

TEST(TensorWise, DenseBelowSendsSmallTensorsAsTheyAre) {
  const TensorLayout layout = test_layout();
  const std::size_t d = ecco::layout_dim(layout);
  Rng data(12);
  const Eigen::VectorXd x = random_vector(d, data);
  for (const std::size_t dense_below : {std::size_t{0}, std::size_t{11}, std::size_t{150}, std::size_t{401},
                                        std::size_t{100000}}) {
    const auto c = ecco::make_tensorwise_compressor("topk:k=0.05", layout, dense_below);
    Rng rng(1);
    CompressorWorkspace ws;
    Message out;
    c->compress(x, rng, ws, out);
    for (std::size_t k = 0; k < layout.size(); ++k) {
      const Eigen::VectorXd segment = segment_of(x, layout[k]);
      if (layout[k].size() < dense_below) {
        ASSERT_EQ(out.parts[k].layout, Layout::dense) << layout[k].name;
        EXPECT_EQ(out.parts[k].values, std::vector<double>(segment.data(), segment.data() + segment.size()));
      } else {
        EXPECT_EQ(out.parts[k].layout, Layout::sparse) << layout[k].name;
      }
    }
  }
}

// Each spec applied by hand to each segment, with one stream in tensor order.
TEST(TensorWise, AnyInnerSpecIsAppliedToEachSegmentInTensorOrder) {
  const TensorLayout layout = test_layout();
  const std::size_t d = ecco::layout_dim(layout);
  Rng data(13);
  for (const std::string spec : {"randk:k=0.1", "randk:k=4,scaled=true,shared_seed=true", "qsgd:s=4", "natural",
                                 "topk:k=0.01+qsgd:s=16", "randk:k=0.2+sign", "contractive(qsgd:s=2)",
                                 "contractive(topk:k=0.1+natural)", "bernoulli:p=0.5", "onebit", "identity"}) {
    for (const std::size_t dense_below : {std::size_t{0}, std::size_t{50}}) {
      const auto c = ecco::make_tensorwise_compressor(spec, layout, dense_below);
      const auto inner = ecco::make_compressor(spec);
      const auto identity = ecco::make_compressor("identity");
      const Eigen::VectorXd x = random_vector(d, data);
      Rng rng(21);
      CompressorWorkspace ws;
      Message out;
      c->compress(x, rng, ws, out);
      Rng replay(21);
      for (std::size_t k = 0; k < layout.size(); ++k) {
        const ecco::Compressor& part = layout[k].size() < dense_below ? *identity : *inner;
        CompressorWorkspace part_ws;
        Message expected;
        part.compress(segment_of(x, layout[k]), replay, part_ws, expected);
        expect_same_message(out.parts[k], expected, spec + " tensor " + layout[k].name);
      }
      EXPECT_EQ(rng.next_u64(), replay.next_u64()) << spec;
    }
  }
}

TEST(TensorWise, TraitsCombineThePartsTraits) {
  const TensorLayout layout = test_layout();
  const std::size_t d = ecco::layout_dim(layout);
  for (const std::string spec : {"topk:k=0.1", "topk:k=5", "randk:k=0.25", "randk:k=3,scaled=true", "qsgd:s=4",
                                 "natural", "sign", "onebit", "lowrank:r=2", "topk:k=0.1+qsgd:s=16",
                                 "contractive(qsgd:s=2)", "identity", "bernoulli:p=0.3", "topk:k=0.1+natural",
                                 "randk:k=0.5+qsgd:s=8"}) {
    for (const std::size_t dense_below : {std::size_t{0}, std::size_t{45}, std::size_t{100000}}) {
      SCOPED_TRACE(spec + " dense_below " + std::to_string(dense_below));
      const auto c = ecco::make_tensorwise_compressor(spec, layout, dense_below);
      const CompressorTraits t = c->traits(d);
      // Expected, from the inner compressor's traits on each tensor (identity for dense ones;
      // lowrank with the tensor's rows, dense when cols == 1 or min(rows, cols) <= 2).
      const auto inner = ecco::make_compressor(spec);
      bool all_contractive = true;
      bool all_unbiased = true;
      bool mixed = true;  // every part contractive or unbiased with omega < 1
      double mixed_alpha = 1.0;
      double alpha = 1.0;
      double omega = 0.0;
      double bits = 0.0;
      double index_bits = 0.0;
      bool homogeneous = true;
      bool deterministic = true;
      for (const TensorShape& shape : layout) {
        const std::size_t n = shape.size();
        bool dense = n < dense_below;
        std::unique_ptr<ecco::Compressor> lowrank;
        if (!dense && spec == "lowrank:r=2") {
          dense = shape.cols == 1 || std::min(shape.rows, shape.cols) <= 2;
          if (!dense) lowrank = ecco::make_compressor("lowrank:r=2,rows=" + std::to_string(shape.rows));
        }
        CompressorTraits p;
        if (dense) {
          p = {.kind = CompressorClass::contractive, .alpha = 1.0, .omega = 0.0, .positively_homogeneous = true,
               .deterministic = true, .bits = 32.0 * static_cast<double>(n), .index_bits = 0.0, .capped = {}};
        } else {
          p = (lowrank ? *lowrank : *inner).traits(n);
        }
        all_contractive &= p.kind == CompressorClass::contractive;
        all_unbiased &= dense || p.kind == CompressorClass::unbiased;
        if (p.kind == CompressorClass::contractive) alpha = std::min(alpha, p.alpha);
        if (p.kind == CompressorClass::unbiased) omega = std::max(omega, p.omega);
        mixed &= p.kind == CompressorClass::contractive || (p.kind == CompressorClass::unbiased && p.omega < 1.0);
        if (p.kind == CompressorClass::contractive) mixed_alpha = std::min(mixed_alpha, p.alpha);
        if (p.kind == CompressorClass::unbiased) mixed_alpha = std::min(mixed_alpha, 1.0 - p.omega);
        bits += p.bits + 192.0;
        index_bits += p.index_bits;
        homogeneous &= p.positively_homogeneous;
        deterministic &= p.deterministic;
      }
      const CompressorClass kind = all_contractive || (!all_unbiased && mixed) ? CompressorClass::contractive
                                   : all_unbiased                             ? CompressorClass::unbiased
                                                                              : CompressorClass::biased;
      EXPECT_EQ(t.kind, kind);
      EXPECT_EQ(t.alpha, kind != CompressorClass::contractive ? 0.0 : all_contractive ? alpha : mixed_alpha);
      EXPECT_EQ(t.omega, kind == CompressorClass::unbiased ? omega : 0.0);
      EXPECT_DOUBLE_EQ(t.bits, bits);
      EXPECT_DOUBLE_EQ(t.index_bits, index_bits);
      EXPECT_EQ(t.positively_homogeneous, homogeneous);
      EXPECT_EQ(t.deterministic, deterministic);
    }
  }
  // Spot checks written out: topk:k=0.1 keeps 10% of every tensor but the scalar (K = 1 of 1,
  // alpha 1), so alpha = 0.1.
  const CompressorTraits topk = ecco::make_tensorwise_compressor("topk:k=0.1", layout, 0)->traits(d);
  EXPECT_EQ(topk.kind, CompressorClass::contractive);
  EXPECT_DOUBLE_EQ(topk.alpha, 0.1);
  const CompressorTraits scaled = ecco::make_tensorwise_compressor("randk:k=3,scaled=true", layout, 0)->traits(d);
  EXPECT_EQ(scaled.kind, CompressorClass::unbiased);
  EXPECT_DOUBLE_EQ(scaled.omega, 1200.0 / 3.0 - 1.0);  // the largest tensor, fc1.weight
  // Mixed: qsgd (unbiased) with dense tensors stays unbiased; lowrank is biased unless all dense.
  EXPECT_EQ(ecco::make_tensorwise_compressor("qsgd:s=4", layout, 45)->traits(d).kind, CompressorClass::unbiased);
  EXPECT_EQ(ecco::make_tensorwise_compressor("lowrank:r=2", layout, 0)->traits(d).kind, CompressorClass::biased);
  // Contractive and unbiased parts with omega < 1 mix into a contractive whole: a scalar leaves
  // topk+qsgd only the quantiser (unbiased, omega = min(1/s^2, 1/s)).
  const TensorLayout with_scalar = {{"a", 0, 4, 5}, {"s", 20, 1, 1}};
  const CompressorTraits mixed = ecco::make_tensorwise_compressor("topk:k=0.5+qsgd:s=16", with_scalar, 0)->traits(21);
  const double omega10 = std::min(10.0 / 256.0, std::sqrt(10.0) / 16.0);  // qsgd on the 10 values kept of a
  EXPECT_EQ(mixed.kind, CompressorClass::contractive);
  EXPECT_DOUBLE_EQ(mixed.alpha, std::min(0.5 * (1.0 - omega10), 1.0 - 1.0 / 256.0));
  EXPECT_EQ(ecco::make_tensorwise_compressor("topk:k=0.5+qsgd:s=1", with_scalar, 0)->traits(21).kind,
            CompressorClass::biased);
  const CompressorTraits all_dense = ecco::make_tensorwise_compressor("lowrank:r=2", layout, 100000)->traits(d);
  EXPECT_EQ(all_dense.kind, CompressorClass::contractive);
  EXPECT_EQ(all_dense.alpha, 1.0);
  EXPECT_DOUBLE_EQ(all_dense.bits, 32.0 * static_cast<double>(d) + 192.0 * static_cast<double>(layout.size()));
}

TEST(TensorWise, DeclaredContractionHoldsExactlyForTopK) {
  const TensorLayout layout = test_layout();
  const std::size_t d = ecco::layout_dim(layout);
  Rng data(14);
  for (const std::string spec : {"topk:k=0.1", "topk:k=2", "sign"}) {
    const auto c = ecco::make_tensorwise_compressor(spec, layout, 20);
    const CompressorTraits t = c->traits(d);
    ASSERT_EQ(t.kind, CompressorClass::contractive) << spec;
    for (int trial = 0; trial < 20; ++trial) {
      Eigen::VectorXd x = random_vector(d, data);
      // Concentrate the mass on the tensor with the smallest alpha now and then.
      if (trial % 2 == 1) x.segment(1240, 400) *= 100.0;
      Rng rng(1);
      CompressorWorkspace ws;
      Message out;
      c->compress(x, rng, ws, out);
      const double err = (dense_of(out) - x).squaredNorm();
      EXPECT_LE(err, (1.0 - t.alpha) * x.squaredNorm() * (1 + 1e-12)) << spec;
    }
  }
}

TEST(TensorWise, SameSeedSameBitsAndDifferentSeedsDiffer) {
  const TensorLayout layout = test_layout();
  const std::size_t d = ecco::layout_dim(layout);
  Rng data(15);
  const Eigen::VectorXd x = random_vector(d, data);
  for (const std::string spec : {"randk:k=0.1", "qsgd:s=4", "lowrank:r=2", "topk:k=0.05+natural"}) {
    const auto c = ecco::make_tensorwise_compressor(spec, layout, 10);
    const auto run = [&](std::uint64_t seed) {
      Rng rng(seed);
      CompressorWorkspace ws;
      Message out;
      c->compress(x, rng, ws, out);
      return out;
    };
    const Message a = run(3);
    const Message b = run(3);
    expect_same_message(a, b, spec);
    EXPECT_NE(bits(to_dense(a)), bits(to_dense(run(4)))) << spec;
    // A fresh compressor built from the same arguments gives the same bits.
    const auto again = ecco::make_tensorwise_compressor(spec, layout, 10);
    Rng rng(3);
    CompressorWorkspace ws;
    Message c2;
    again->compress(x, rng, ws, c2);
    expect_same_message(a, c2, spec + " rebuilt");
  }
}

TEST(TensorWise, RoundToWireKeepsClientAndServerIdentical) {
  const TensorLayout layout = test_layout();
  const std::size_t d = ecco::layout_dim(layout);
  Rng data(16);
  for (const std::string spec : {"topk:k=0.05", "lowrank:r=2", "randk:k=0.1,shared_seed=true", "qsgd:s=8",
                                 "topk:k=0.01+qsgd:s=16", "contractive(qsgd:s=4)", "sign", "identity"}) {
    const auto c = ecco::make_tensorwise_compressor(spec, layout, 30);
    for (const ValueFormat f : kFormats) {
      Rng rng(17);
      CompressorWorkspace ws;
      Message client;
      Message server;
      Eigen::VectorXd g_client = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d));
      Eigen::VectorXd g_server = g_client;
      for (int round = 0; round < 3; ++round) {  // an EF-style accumulation over rounds
        const Eigen::VectorXd x = random_vector(d, data);
        c->compress(x - g_client, rng, ws, client);
        ecco::round_to_wire(client, f);
        std::vector<std::byte> bytes;
        const EncodedSize size = ecco::encode(client, f, bytes);
        ASSERT_EQ(size.total(), bytes.size());
        ASSERT_EQ(ecco::encoded_size(client, f).total(), bytes.size());
        ecco::decode(bytes, static_cast<std::uint32_t>(d), server);
        client.add_to(g_client);
        server.add_to(g_server);
        for (Eigen::Index j = 0; j < g_client.size(); ++j) {
          ASSERT_EQ(std::bit_cast<std::uint64_t>(g_client[j]), std::bit_cast<std::uint64_t>(g_server[j]))
              << spec << " " << ecco::to_string(f) << " round " << round << " j " << j;
        }
      }
    }
  }
}

TEST(TensorWise, TheoreticalBitsAgainstTheEncodedSize) {
  const TensorLayout layout = test_layout();
  const std::size_t d = ecco::layout_dim(layout);
  Rng data(18);
  const Eigen::VectorXd x = random_vector(d, data);
  for (const std::string spec : {"identity", "qsgd:s=4", "lowrank:r=2", "sign", "topk:k=0.1"}) {
    const auto c = ecco::make_tensorwise_compressor(spec, layout, 0);
    Rng rng(1);
    CompressorWorkspace ws;
    Message m;
    c->compress(x, rng, ws, m);
    ecco::round_to_wire(m, ValueFormat::fp32);
    const EncodedSize size = ecco::encoded_size(m, ValueFormat::fp32);
    // Outside the outer header and the parts' static parameters (s, the lowrank shape), the
    // wire carries the theoretical bits: values at 32 bits, level bits, scales, and 192 bits
    // per part; indices cost at most 32 bits each (topk), padding at most 7 bits per part.
    std::size_t static_params = 0;
    std::size_t kept = 0;
    for (const Message& part : m.active_parts()) {
      if (part.code == ValueCode::uniform_levels || part.code == ValueCode::power_levels) static_params += 4;
      if (part.layout == Layout::lowrank) static_params += 12;
      if (part.layout == Layout::sparse) kept += part.count();
    }
    const CompressorTraits t = c->traits(d);
    const double payload = 8.0 * static_cast<double>(size.total() - 20 - static_params);
    const double values = t.bits - t.index_bits;
    SCOPED_TRACE(spec + ": payload " + std::to_string(payload) + ", theory " + std::to_string(t.bits));
    EXPECT_GT(payload, values - 8.0 * static_cast<double>(layout.size()));
    EXPECT_LE(payload, values + 32.0 * static_cast<double>(kept) + 8.0 * static_cast<double>(layout.size()));
    if (t.index_bits == 0.0) {
      EXPECT_LT(std::fabs(payload - t.bits), 8.0 * static_cast<double>(layout.size()));
    }
  }
}

TEST(TensorWise, InputChecksAndSpecs) {
  const TensorLayout layout = test_layout();
  const std::size_t d = ecco::layout_dim(layout);
  const auto c = ecco::make_tensorwise_compressor("topk:k=0.01", layout, 1000);
  EXPECT_EQ(c->spec(), "topk:k=0.01 per tensor (7 tensors, dense below 1000)");
  EXPECT_EQ(ecco::make_tensorwise_compressor("lowrank:r=2", layout, 0)->spec(),
            "lowrank:r=2 per tensor (7 tensors, dense below 0)");
  EXPECT_EQ(ecco::make_tensorwise_compressor("topk:k=0.01 + qsgd:s=16", ecco::single_tensor(5), 3)->spec(),
            "topk:k=0.01+qsgd:norm=2,s=16 per tensor (1 tensor, dense below 3)");
  // The description is not a spec make_compressor accepts.
  EXPECT_THROW(ecco::make_compressor(c->spec()), ecco::ConfigError);
  // Dimensions other than the layout's.
  EXPECT_THROW(c->traits(d + 1), std::invalid_argument);
  EXPECT_THROW(c->traits(d - 1), std::invalid_argument);
  Rng rng(1);
  CompressorWorkspace ws;
  Message out;
  EXPECT_THROW(c->compress(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d - 1)), rng, ws, out),
               std::invalid_argument);
  EXPECT_THROW(c->compress(Eigen::VectorXd(0), rng, ws, out), std::invalid_argument);
  // Non-finite input: NumericError naming the model's coordinate (in fc2.weight).
  Eigen::VectorXd x = Eigen::VectorXd::Ones(static_cast<Eigen::Index>(d));
  x[1250] = std::numeric_limits<double>::quiet_NaN();
  try {
    c->compress(x, rng, ws, out);
    ADD_FAILURE() << "NaN accepted";
  } catch (const ecco::NumericError& e) {
    EXPECT_NE(std::string(e.what()).find("coordinate 1250"), std::string::npos) << e.what();
  }
  // Bad inner specs, an explicit lowrank rows, bad layouts.
  EXPECT_THROW(ecco::make_tensorwise_compressor("topk", layout, 0), ecco::ConfigError);
  EXPECT_THROW(ecco::make_tensorwise_compressor("nope:k=1", layout, 0), ecco::ConfigError);
  EXPECT_THROW(ecco::make_tensorwise_compressor("lowrank:r=2,rows=10", layout, 0), ecco::ConfigError);
  EXPECT_THROW(ecco::make_tensorwise_compressor("topk:k=0.1", TensorLayout{}, 0), std::invalid_argument);
  TensorLayout gap = layout;
  gap[2].offset += 1;
  EXPECT_THROW(ecco::make_tensorwise_compressor("topk:k=0.1", gap, 0), std::invalid_argument);
  TensorLayout empty_tensor = {TensorShape{"a", 0, 3, 1}, TensorShape{"b", 3, 0, 4}};
  EXPECT_THROW(ecco::make_tensorwise_compressor("topk:k=0.1", empty_tensor, 0), std::invalid_argument);
  const TensorLayout huge = {TensorShape{"a", 0, 65536, 65536}};
  EXPECT_THROW(ecco::make_tensorwise_compressor("topk:k=0.1", huge, 0), std::invalid_argument);
}

TEST(TensorWise, ASingleTensorEqualsTheInnerCompressorInOnePart) {
  Rng data(19);
  const Eigen::VectorXd x = random_vector(500, data);
  for (const std::string spec : {"topk:k=0.02", "randk:k=0.1", "qsgd:s=2"}) {
    const auto c = ecco::make_tensorwise_compressor(spec, ecco::single_tensor(500), 0);
    const auto inner = ecco::make_compressor(spec);
    Rng a(2);
    Rng b(2);
    CompressorWorkspace wa;
    CompressorWorkspace wb;
    Message ma;
    Message mb;
    c->compress(x, a, wa, ma);
    inner->compress(x, b, wb, mb);
    ASSERT_EQ(ma.part_count, 1U);
    expect_same_message(ma.parts[0], mb, spec);
    // One part costs one header and one length more than the plain message.
    EXPECT_EQ(ecco::encoded_size(ma, ValueFormat::fp32).total(),
              ecco::encoded_size(mb, ValueFormat::fp32).total() + 24);
  }
}

// ---------------------------------------------------------------------------------------
// Methods on parts messages

// The reference for the methods: the same per-segment compression (one instance of the spec
// on each segment, one stream in tensor order, identity below dense_below) merged into one
// plain sparse message with the segments' offsets added to the indices. Only for specs whose
// outputs are raw sparse or dense messages (topk, randk, identity).
class MergedSegments final : public ecco::Compressor {
 public:
  MergedSegments(const std::string& spec, TensorLayout layout, std::size_t dense_below)
      : inner_(ecco::make_compressor(spec)),
        identity_(ecco::make_compressor("identity")),
        layout_(std::move(layout)),
        dense_below_(dense_below),
        traits_from_(ecco::make_tensorwise_compressor(spec, layout_, dense_below)) {}
  std::string spec() const override { return "merged segments"; }
  CompressorTraits traits(std::size_t dim) const override { return traits_from_->traits(dim); }
  void compress(Eigen::Ref<const Eigen::VectorXd> x, Rng& rng, CompressorWorkspace& /*workspace*/,
                Message& out) const override {
    out.clear_sparse(static_cast<std::uint32_t>(x.size()));
    for (const TensorShape& t : layout_) {
      const ecco::Compressor& c = t.size() < dense_below_ ? *identity_ : *inner_;
      CompressorWorkspace ws;
      Message part;
      c.compress(x.segment(static_cast<Eigen::Index>(t.offset), static_cast<Eigen::Index>(t.size())), rng, ws, part);
      if (part.layout == Layout::dense) {
        for (std::size_t j = 0; j < part.values.size(); ++j) {
          out.indices.push_back(static_cast<std::uint32_t>(t.offset + j));
          out.values.push_back(part.values[j]);
        }
      } else {
        if (part.layout != Layout::sparse || part.code != ValueCode::raw) throw std::logic_error("not mergeable");
        for (std::size_t k = 0; k < part.indices.size(); ++k) {
          out.indices.push_back(static_cast<std::uint32_t>(t.offset + part.indices[k]));
          out.values.push_back(part.values[k]);
        }
      }
    }
  }

 private:
  std::unique_ptr<ecco::Compressor> inner_;
  std::unique_ptr<ecco::Compressor> identity_;
  TensorLayout layout_;
  std::size_t dense_below_;
  std::unique_ptr<ecco::Compressor> traits_from_;
};

ecco::Dataset method_data() {
  ecco::SyntheticClassification gen;
  gen.rows = 120;
  gen.dim = 10;
  gen.density = 0.6;
  gen.seed = 4;
  return ecco::make_synthetic_classification(gen);
}

TEST(TensorWiseMethods, EveryMethodGivesTheSameIteratesAsOnMergedSparseMessages) {
  // A 2 x 3 matrix and two vectors of 2; those two travel dense.
  const TensorLayout layout = {{"w", 0, 2, 3}, {"b", 6, 2, 1}, {"c", 8, 2, 1}};
  const std::size_t dense_below = 3;
  std::size_t methods = 0;
  for (const ecco::SpecEntry& entry : ecco::method_table()) {
    if (!ecco::make_method(entry.name)->uses_compressor()) continue;
    for (const std::string spec : {"topk:k=0.3", "randk:k=0.5"}) {
      for (const ValueFormat wire : {ValueFormat::fp64, ValueFormat::bf16}) {
        SCOPED_TRACE(entry.name + " with " + spec + " per tensor, wire " + std::string(ecco::to_string(wire)));
        const auto run = [&](bool parts) {
          ecco::testing::HarnessConfig config;
          config.method = entry.name;
          config.problem = "logistic:lambda=0.1";
          config.step_size = 0.2;
          config.clients = 4;
          config.wire = wire;
          config.through_wire = true;
          config.data = method_data();
          if (parts) {
            config.compressor_object = ecco::make_tensorwise_compressor(spec, layout, dense_below);
          } else {
            config.compressor_object = std::make_shared<MergedSegments>(spec, layout, dense_below);
          }
          config.down_compressor_object = config.compressor_object;  // ef21_bc's downlink
          return ecco::testing::MethodHarness(config).run(25);
        };
        const std::vector<Eigen::VectorXd> a = run(true);
        const std::vector<Eigen::VectorXd> b = run(false);
        ASSERT_EQ(a.size(), b.size());
        for (std::size_t t = 0; t < a.size(); ++t) {
          ASSERT_TRUE(a[t].allFinite());
          for (Eigen::Index j = 0; j < a[t].size(); ++j) {
            ASSERT_EQ(std::bit_cast<std::uint64_t>(a[t][j] + 0.0), std::bit_cast<std::uint64_t>(b[t][j] + 0.0))
                << "iterate " << t << " coordinate " << j;
          }
        }
        EXPECT_GT((a.back() - a.front()).norm(), 1e-3);  // the iterates moved
      }
    }
    ++methods;
  }
  EXPECT_GE(methods, 10U);
}

}  // namespace

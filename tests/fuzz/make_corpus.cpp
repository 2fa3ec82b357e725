// ecco-fuzz-corpus DIR: writes the generated part of the seed corpora of the fuzz targets
// (docs/fuzzing.md) into DIR/<target>/gen-*: valid inputs made by the library itself.
//  * fuzz_decode: messages of real compressors (every layout, value codec and index codec,
//    tagged and parts messages, shared-factor messages of the target's factor shapes), each
//    behind the target's control byte (fuzz_decode.cpp);
//  * fuzz_libsvm: datasets of the library's generators written as LIBSVM text;
//  * fuzz_idx: IDX pairs of generated images, plain, gzipped by the target and gzipped here;
//  * fuzz_spec: every entry of every spec table, bare and in canonical form, and the grammar
//    on top (compositions, contractive(...), adaptive pairs, --lr values).
// The hand-made edge cases (edge-*) are committed beside them and not touched. Deterministic:
// the same build writes the same files.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "ecco/adaptive_levels.hpp"
#include "ecco/algorithm.hpp"
#include "ecco/codec.hpp"
#include "ecco/compressor.hpp"
#include "ecco/dataset.hpp"
#include "ecco/problem.hpp"
#include "ecco/rng.hpp"
#include "ecco/spec.hpp"
#include "ecco/step_schedule.hpp"
#include "ecco/tensor_layout.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

void write_file(const fs::path& path, const void* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_file(const fs::path& path, const std::string& text) { write_file(path, text.data(), text.size()); }

// fuzz_decode's receivers: control bits 1-3 select kDims[k] (fuzz_decode.cpp).
std::uint8_t receiver_bits(std::uint32_t dim) {
  constexpr std::uint32_t dims[8] = {0, 1, 3, 7, 16, 64, 100, 1000};
  for (std::uint8_t k = 1; k < 8; ++k) {
    if (dims[k] == dim) return static_cast<std::uint8_t>(k << 1);
  }
  return 0;
}

Eigen::VectorXd input_vector(std::size_t n, std::uint64_t seed) {
  ecco::Rng rng(seed);
  Eigen::VectorXd x(static_cast<Eigen::Index>(n));
  for (Eigen::Index j = 0; j < x.size(); ++j) x[j] = rng.normal() * (j % 5 == 0 ? 10.0 : 1.0);
  return x;
}

class DecodeCorpus {
 public:
  explicit DecodeCorpus(fs::path dir) : dir_(std::move(dir)) {}

  // The message of `spec` on an input of `dim`, in `format`, as one corpus file.
  void compressor(const std::string& name, const std::string& spec, std::uint32_t dim,
                  ecco::EncodeOptions options = {}, std::uint8_t tag = 0, std::uint8_t extra_control = 0) {
    const auto c = ecco::make_compressor(spec);
    ecco::Rng rng(dim);
    ecco::Rng factor_rng(17);
    const auto factor = c->make_shared_factor(dim, factor_rng);
    ecco::CompressorWorkspace workspace;
    workspace.shared_factor = factor.get();
    ecco::Message m;
    c->compress(input_vector(dim, dim + 1), rng, workspace, m);
    m.tag = tag;
    add(name, m, options, static_cast<std::uint8_t>(receiver_bits(dim) | extra_control));
  }

  // A per-tensor (parts) message of `inner` on a 100-coordinate model of three tensors.
  void tensorwise(const std::string& name, const std::string& inner, std::uint8_t tag = 0) {
    const ecco::TensorLayout layout = {{"w", 0, 10, 8}, {"b", 80, 10, 1}, {"v", 90, 10, 1}};
    const auto c = ecco::make_tensorwise_compressor(inner, layout, 10);
    ecco::Rng rng(5);
    ecco::CompressorWorkspace workspace;
    ecco::Message m;
    c->compress(input_vector(100, 6), rng, workspace, m);
    m.tag = tag;
    add(name, m, {}, receiver_bits(100));
  }

  void add(const std::string& name, ecco::Message& m, ecco::EncodeOptions options, std::uint8_t control) {
    ecco::round_to_wire(m, options.format);
    std::vector<std::byte> bytes;
    ecco::encode(m, options, bytes);
    Bytes file(1 + bytes.size());
    file[0] = control;
    std::memcpy(file.data() + 1, bytes.data(), bytes.size());
    write_file(dir_ / ("gen-" + name), file.data(), file.size());
  }

 private:
  fs::path dir_;
};

void decode_corpus(const fs::path& dir) {
  DecodeCorpus c(dir);
  using ecco::IndexCodec;
  using ecco::ValueFormat;
  c.compressor("dense-fp32", "identity", 7);
  c.compressor("dense-fp64", "identity", 7, {.format = ValueFormat::fp64});
  c.compressor("dense-bf16", "identity", 16, {.format = ValueFormat::bf16});
  c.compressor("dense-fp16-tagged", "identity", 3, {.format = ValueFormat::fp16}, 2);
  c.compressor("dense-1", "identity", 1);
  c.compressor("topk-varint", "topk:k=3", 64);
  c.compressor("topk-bitmap", "topk:k=20", 100, {.format = ValueFormat::fp64});
  c.compressor("topk-raw32", "topk:k=4", 1000, {.format = ValueFormat::fp32, .index = IndexCodec::raw32});
  c.compressor("topk-bitmap-forced", "topk:k=3", 16, {.format = ValueFormat::fp16, .index = IndexCodec::bitmap});
  c.compressor("randk-seed", "randk:k=5,shared_seed=true", 1000);
  c.compressor("randk-scaled", "randk:k=0.1,scaled=true", 100, {.format = ValueFormat::bf16});
  c.compressor("bernoulli", "bernoulli:p=0.9", 16);
  c.compressor("natural", "natural", 16);
  c.compressor("qsgd", "qsgd:s=4", 64);
  c.compressor("qsgd-inf", "qsgd:s=1000,norm=inf", 7);
  c.compressor("natural-dithering", "natural_dithering:s=3", 64);
  c.compressor("terngrad", "terngrad", 16);
  c.compressor("sign", "sign", 100);
  c.compressor("onebit-tagged", "onebit", 7, {}, 1);
  c.compressor("topk-qsgd", "topk:k=8+qsgd:s=2", 64);
  c.compressor("topk-sign", "topk:k=5+sign", 100);
  c.compressor("randk-seed-natural", "randk:k=0.3,shared_seed=true+natural", 64);
  c.compressor("contractive-qsgd", "contractive(qsgd:s=2)", 16);
  c.compressor("lowrank", "lowrank:r=2", 64);
  c.compressor("lowrank-rows", "lowrank:r=1,rows=3", 7, {.format = ValueFormat::fp64});
  c.compressor("lowrank-shared", "lowrank:r=2,factor=shared", 64);
  c.compressor("lowrank-shared-100", "lowrank:r=3,factor=shared", 100);
  c.compressor("lowrank-shared-1000", "lowrank:r=4,rows=25,factor=shared", 1000, {.format = ValueFormat::fp16});
  c.tensorwise("parts-topk", "topk:k=0.2");
  c.tensorwise("parts-lowrank", "lowrank:r=2");
  c.tensorwise("parts-qsgd-tagged", "qsgd:s=8", 3);
  c.tensorwise("parts-randk-seed", "randk:k=3,shared_seed=true+sign");
  // The same messages for the other receivers: no expected dimension, the CRC kept as
  // given, a receiver's Message from earlier rounds.
  c.compressor("any-dim-topk", "topk:k=3", 64, {}, 0, 0);
  c.compressor("crc-kept-qsgd", "qsgd:s=4", 64, {}, 0, 1);
  c.compressor("used-message-sign", "sign", 100, {}, 0, 0x10);
}

// A generated dataset as LIBSVM text, `digits` significant digits per value.
std::string as_libsvm(const ecco::Dataset& data, int digits, const char* separator = " ") {
  std::ostringstream out;
  out.precision(digits);
  for (Eigen::Index i = 0; i < data.features.rows(); ++i) {
    out << data.labels[i];
    for (ecco::SparseRows::InnerIterator it(data.features, i); it; ++it) {
      out << separator << it.col() + 1 << ':' << it.value();
    }
    out << '\n';
  }
  return out.str();
}

void libsvm_corpus(const fs::path& dir) {
  ecco::SyntheticClassification small{.rows = 8, .dim = 6, .density = 0.5, .noise = 0.1, .seed = 3};
  write_file(dir / "gen-binary", as_libsvm(ecco::make_synthetic_classification(small), 6));
  small.seed = 4;
  write_file(dir / "gen-binary-tabs", as_libsvm(ecco::make_synthetic_classification(small), 17, "\t"));
  ecco::SyntheticRegression reg{.clients = 2, .rows = 4, .dim = 3, .spread = 10, .cond = 5, .noise = 0.5, .seed = 2};
  write_file(dir / "gen-regression", as_libsvm(ecco::make_synthetic_regression(reg), 9));
  ecco::SyntheticClassification dense{.rows = 3, .dim = 20, .density = 1.0, .noise = 0.0, .seed = 5};
  write_file(dir / "gen-dense-rows", as_libsvm(ecco::make_synthetic_classification(dense), 4));
}

Bytes gzip(const Bytes& bytes) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&z, static_cast<uLong>(bytes.size())) + 32);
  z.next_in = const_cast<unsigned char*>(bytes.data());
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void put_be32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(v >> shift));
}

// fuzz_idx's input: control, the image file's length, the image file, the label file.
Bytes idx_input(std::uint8_t control, const Bytes& images, const Bytes& labels) {
  Bytes out{control};
  const auto n = static_cast<std::uint32_t>(images.size());
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<unsigned char>(n >> shift));
  out.insert(out.end(), images.begin(), images.end());
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// count images of rows x cols pixels from a generated dataset (values in [0, 1) as bytes,
// zeros where it has none) and their labels.
void idx_pair(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, std::uint64_t seed, Bytes& images,
              Bytes& labels) {
  const ecco::SyntheticClassification gen{.rows = count, .dim = rows * cols, .density = 0.4, .noise = 0.1, .seed = seed};
  const ecco::Dataset data = ecco::make_synthetic_classification(gen);
  images.clear();
  put_be32(images, 0x00000803);
  put_be32(images, count);
  put_be32(images, rows);
  put_be32(images, cols);
  const Eigen::MatrixXd pixels = Eigen::MatrixXd(data.features);
  for (Eigen::Index i = 0; i < pixels.rows(); ++i) {
    for (Eigen::Index j = 0; j < pixels.cols(); ++j) images.push_back(static_cast<unsigned char>(pixels(i, j) * 255.0));
  }
  labels.clear();
  put_be32(labels, 0x00000801);
  put_be32(labels, count);
  for (Eigen::Index i = 0; i < data.labels.size(); ++i) labels.push_back(static_cast<unsigned char>((i * 7) % 10));
}

void idx_corpus(const fs::path& dir) {
  Bytes images;
  Bytes labels;
  idx_pair(4, 2, 3, 1, images, labels);
  const auto write = [&](const std::string& name, const Bytes& input) {
    write_file(dir / ("gen-" + name), input.data(), input.size());
  };
  write("plain", idx_input(0, images, labels));
  write("gzip-by-target", idx_input(3, images, labels));
  write("gzip-images-only", idx_input(1, images, labels));
  write("gzip-truncated", idx_input(7, images, labels));
  write("gzip-files", idx_input(0, gzip(images), gzip(labels)));
  idx_pair(3, 5, 4, 2, images, labels);
  write("plain-5x4", idx_input(0, images, labels));
  write("gzip-labels-only", idx_input(2, images, labels));
  idx_pair(1, 1, 1, 3, images, labels);
  write("one-pixel", idx_input(0, images, labels));
}

void spec_corpus(const fs::path& dir) {
  struct Family {
    const char* name;
    std::span<const ecco::SpecEntry> table;
  };
  const Family families[] = {
      {"compressor", ecco::compressor_table()},   {"algorithm", ecco::method_table()},
      {"problem", ecco::problem_table()},         {"split", ecco::split_table()},
      {"data", ecco::data_generator_table()},     {"schedule", ecco::step_schedule_table()},
      {"adaptive", ecco::adaptive_table()},
  };
  for (const Family& f : families) {
    for (const ecco::SpecEntry& e : f.table) {
      bool required = false;
      for (const ecco::SpecKey& k : e.keys) required |= k.default_value.empty();
      const std::string base = std::string("gen-") + f.name + "-" + e.name;
      if (!required) {
        write_file(dir / base, e.name);
        write_file(dir / (base + "-canonical"), ecco::resolve_spec(f.name, e.name, f.table).to_string());
      }
    }
  }
  const char* const more[][2] = {
      {"compressor-topk", "topk:k=0.01"},
      {"compressor-randk", "randk:k=5,shared_seed=true,scaled=true"},
      {"compressor-bernoulli", "bernoulli:p=0.5"},
      {"compressor-qsgd", "qsgd:s=16,norm=inf"},
      {"compressor-natural-dithering", "natural_dithering:s=8"},
      {"compressor-lowrank", "lowrank:r=2,rows=4,factor=shared"},
      {"composition", "topk:k=0.1+qsgd:s=4"},
      {"composition-sign", "randk:k=0.5 + sign"},
      {"contractive", "contractive(qsgd:s=4)"},
      {"contractive-composition", "contractive(topk:k=2+natural)"},
      {"algorithm-ef21-sgdm", "ef21_sgdm:batch=8,eta=0.5,init=compressed"},
      {"algorithm-onebit-adam", "onebit_adam:freeze=10,chunk=4,eps=1e-5"},
      {"problem-mlp", "mlp:hidden=8x4,act=tanh"},
      {"lr-constant", "0.01"},
      {"lr-theory", "theory:mult=2,mean=am,pl=true"},
      {"schedule-cosine", "cosine:warmup=10,final=0.1"},
      {"data-synthetic-classification", "synthetic_classification:rows=20,dim=5,density=0.5"},
      {"data-synthetic", "synthetic:rows=10,dim=3,clients=2"},
      {"data-idx", "idx:images=a,labels=b"},
      {"split-shuffle", "shuffle:seed=7"},
      {"adaptive-topk", "lgreco:every=10,levels=0.05/0.1/0.2\ntopk:k=0.1"},
      {"adaptive-lowrank", "lgreco:budget=1000\nlowrank:r=4"},
      {"adaptive-qsgd", "lgreco:levels=auto,buckets=64\nqsgd:s=8"},
  };
  for (const auto& [name, text] : more) write_file(dir / (std::string("gen-") + name), text);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ecco-fuzz-corpus DIR (writes DIR/<target>/gen-*)\n");
    return 2;
  }
  try {
    const fs::path root = argv[1];
    const std::pair<const char*, void (*)(const fs::path&)> targets[] = {
        {"fuzz_decode", decode_corpus}, {"fuzz_libsvm", libsvm_corpus},
        {"fuzz_idx", idx_corpus},       {"fuzz_spec", spec_corpus}};
    for (const auto& [name, make] : targets) {
      const fs::path dir = root / name;
      fs::create_directories(dir);
      for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().filename().string().rfind("gen-", 0) == 0) fs::remove(entry.path());
      }
      make(dir);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ecco-fuzz-corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}

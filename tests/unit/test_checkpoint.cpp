// Checkpoints (--checkpoint-dir, --resume): a run resumed from the checkpoint of round k
// equals the uninterrupted run bit for bit (every row but its wall time, the model, the
// counters), for every method of the registry and for the compressors whose workspace
// carries state (lowrank warm starts, the shared factor, per-tensor levels chosen by
// L-GreCo); the state records refuse truncated, corrupt or foreign bytes; a corrupt newest
// checkpoint is skipped for the previous one; a changed config is refused naming the field.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ecco/error.hpp"
#include "ecco/state_io.hpp"
#include "ecco/trainer.hpp"
#include "mpi/registry_cases.hpp"
#include "train/checkpoint.hpp"

namespace {

namespace fs = std::filesystem;

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::temp_directory_path() / ("ecco-checkpoint-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string str() const { return path_.string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Every field of every row but `seconds`, the model and the totals, bit for bit.
void expect_same_run(const ecco::RunResult& a, const ecco::RunResult& b) {
  ASSERT_EQ(a.history.size(), b.history.size());
  for (std::size_t k = 0; k < a.history.size(); ++k) {
    const auto& r = a.history[k];
    const auto& s = b.history[k];
    SCOPED_TRACE("row " + std::to_string(k) + " (round " + std::to_string(r.round) + ")");
    EXPECT_EQ(r.round, s.round);
    EXPECT_TRUE(same_bits(r.loss, s.loss)) << r.loss << " vs " << s.loss;
    EXPECT_TRUE(same_bits(r.grad_norm_sq, s.grad_norm_sq));
    EXPECT_TRUE(same_bits(r.train_accuracy, s.train_accuracy));
    EXPECT_TRUE(same_bits(r.test_loss, s.test_loss));
    EXPECT_TRUE(same_bits(r.test_accuracy, s.test_accuracy));
    EXPECT_EQ(r.bits_up, s.bits_up);
    EXPECT_EQ(r.bits_down, s.bits_down);
    EXPECT_EQ(r.bits_up_header, s.bits_up_header);
    EXPECT_EQ(r.bits_up_index, s.bits_up_index);
    EXPECT_EQ(r.bits_up_value, s.bits_up_value);
  }
  ASSERT_EQ(a.x.size(), b.x.size());
  for (Eigen::Index j = 0; j < a.x.size(); ++j) EXPECT_TRUE(same_bits(a.x[j], b.x[j])) << "x[" << j << "]";
  EXPECT_EQ(a.rounds_run, b.rounds_run);
  EXPECT_EQ(a.messages_up, b.messages_up);
  EXPECT_EQ(a.bits_allgather_received, b.bits_allgather_received);
  EXPECT_EQ(a.bits_allreduce_payload, b.bits_allreduce_payload);
  ASSERT_EQ(a.tensor_traffic.size(), b.tensor_traffic.size());
  for (std::size_t k = 0; k < a.tensor_traffic.size(); ++k) {
    EXPECT_EQ(a.tensor_traffic[k].bits_up, b.tensor_traffic[k].bits_up);
    EXPECT_EQ(a.tensor_traffic[k].level, b.tensor_traffic[k].level);
  }
  ASSERT_EQ(a.level_decisions.size(), b.level_decisions.size());
  for (std::size_t k = 0; k < a.level_decisions.size(); ++k) {
    EXPECT_EQ(a.level_decisions[k].round, b.level_decisions[k].round);
    EXPECT_EQ(a.level_decisions[k].level, b.level_decisions[k].level);
    EXPECT_EQ(a.level_decisions[k].bytes, b.level_decisions[k].bytes);
  }
}

// The uninterrupted run; the same run writing checkpoints every `every` rounds; then a run
// resumed from the newest (round `every` * floor(rounds / every), or the one left).
void expect_resume_equals_uninterrupted(const ecco::RunConfig& config, std::int64_t every, const std::string& name) {
  const TempDir dir(name);
  const ecco::RunResult whole = ecco::run_serial(config);
  ecco::RunOptions writing;
  writing.checkpoint.dir = dir.str();
  writing.checkpoint.every = every;
  const ecco::RunResult written = ecco::run_serial(config, writing);
  expect_same_run(whole, written);  // writing checkpoints changes nothing
  ASSERT_FALSE(written.checkpoint_written.empty());
  ecco::RunOptions resuming;
  resuming.checkpoint.resume = dir.str();
  const ecco::RunResult resumed = ecco::run_serial(config, resuming);
  EXPECT_EQ(resumed.resumed_from, every * (config.rounds / every));
  expect_same_run(whole, resumed);
}

TEST(Checkpoint, EveryMethodResumesBitForBit) {
  for (const auto& c : ecco::testing::registry_cases()) {
    SCOPED_TRACE(c.algorithm);
    ecco::RunConfig config = ecco::testing::registry_case_config(c);
    config.rounds = 11;
    // Resumed from round 7: the onebit_adam case freezes at 4, so its state after the
    // warm-up (errors, frozen variance) is what travels.
    expect_resume_equals_uninterrupted(config, 7, "method");
  }
}

TEST(Checkpoint, DeltaDownlinkResumesBitForBit) {
  for (const char* algorithm : {"ef21_hb:eta=0.7", "sgd:batch=3,momentum=0.5", "adam:batch=3", "ef21"}) {
    SCOPED_TRACE(algorithm);
    ecco::RunConfig config = ecco::testing::registry_case_config({algorithm, "topk:k=2", "0.01"});
    if (std::string(algorithm).rfind("sgd", 0) == 0 || std::string(algorithm).rfind("adam", 0) == 0) {
      config.compressor = "identity";
    }
    config.downlink = "delta";
    config.rounds = 10;
    expect_resume_equals_uninterrupted(config, 4, "delta");
  }
}

// Compressors with state in the workspace, random compressors and the stochastic metrics.
TEST(Checkpoint, StatefulCompressorsResumeBitForBit) {
  struct Case {
    const char* algorithm;
    const char* compressor;
    bool allow_any;
  };
  for (const Case& c : {Case{"ef14:momentum=0.5", "lowrank:r=1", true}, Case{"ef21", "lowrank:r=2,factor=shared", true},
                        Case{"dcgd", "qsgd:s=4", false}, Case{"dcgd", "natural", false},
                        Case{"ef21", "randk:k=3,coords=common", true}, Case{"ef21_sgdm:batch=2,eta=0.5", "topk:k=2", false}}) {
    SCOPED_TRACE(std::string(c.algorithm) + " with " + c.compressor);
    ecco::RunConfig config = ecco::testing::registry_case_config({c.algorithm, c.compressor, "0.01"});
    config.allow_any_compressor = c.allow_any;
    config.rounds = 9;
    expect_resume_equals_uninterrupted(config, 5, "compressor");
  }
}

// A model with named tensors, per-tensor compressors and L-GreCo's level choices (every 3
// rounds: a choice before the checkpoint and after it), minibatch loss metrics and a cosine
// schedule.
TEST(Checkpoint, LevelChoicesAndTensorsResumeBitForBit) {
  ecco::RunConfig config;
  config.data = "synthetic_classification:rows=300,dim=12,seed=4";
  config.problem = "mlp:hidden=6";
  config.clients = 3;
  config.algorithm = "ef21_sgdm:batch=16,eta=0.5";
  config.compressor = "topk:k=0.5";
  config.granularity = "tensor";
  config.adaptive = "lgreco:every=3";
  config.step_size = "0.1";
  config.lr_schedule = "cosine";
  config.train_metrics = "batch";
  config.log_every = 2;
  config.rounds = 13;
  expect_resume_equals_uninterrupted(config, 5, "lgreco");
}

// ---- the state records ----------------------------------------------------------------

TEST(StateIo, RoundTripsEveryFieldType) {
  Eigen::VectorXd v(3);
  v << 1.5, -0.0, 1e-300;
  Eigen::MatrixXd m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  std::vector<std::uint32_t> u{7, 8};
  std::string s = "text";
  double x = -2.25;
  std::int64_t i = -7;
  bool b = true;
  ecco::StateWriter w;
  w.field("v", v);
  w.field("m", m);
  w.field("u", u);
  w.field("s", s);
  w.field("x", x);
  w.field("i", i);
  w.field("b", b);
  Eigen::VectorXd v2;
  Eigen::MatrixXd m2;
  std::vector<std::uint32_t> u2;
  std::string s2;
  double x2 = 0;
  std::int64_t i2 = 0;
  bool b2 = false;
  ecco::StateReader r(w.bytes(), "record");
  r.field("v", v2);
  r.field("m", m2);
  r.field("u", u2);
  r.field("s", s2);
  r.field("x", x2);
  r.field("i", i2);
  r.field("b", b2);
  r.expect_end();
  EXPECT_TRUE(same_bits(v2[1], -0.0));
  EXPECT_EQ(v2, v);
  EXPECT_EQ(m2, m);
  EXPECT_EQ(u2, u);
  EXPECT_EQ(s2, s);
  EXPECT_EQ(x2, x);
  EXPECT_EQ(i2, i);
  EXPECT_TRUE(b2);
}

std::string load_error(const std::vector<std::byte>& bytes, const std::function<void(ecco::StateReader&)>& read) {
  try {
    ecco::StateReader r(bytes, "rec");
    read(r);
    r.expect_end();
  } catch (const ecco::CheckpointError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(StateIo, RefusesTruncatedForeignAndMisSizedRecords) {
  Eigen::VectorXd v = Eigen::VectorXd::LinSpaced(4, 0, 3);
  ecco::StateWriter w;
  w.field("g", v);
  const std::vector<std::byte> bytes = w.bytes();
  // Every truncation is refused, never read past the end.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<std::byte> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    const std::string e = load_error(cut, [](ecco::StateReader& r) {
      Eigen::VectorXd g;
      r.field("g", g);
    });
    EXPECT_NE(e.find("rec: field 'g'"), std::string::npos) << "cut at " << n << ": " << e;
  }
  EXPECT_NE(load_error(bytes, [](ecco::StateReader& r) {
              Eigen::VectorXd e;
              r.field("e", e);
            }).find("found 'g' in its place"),
            std::string::npos);
  EXPECT_NE(load_error(bytes, [](ecco::StateReader& r) {
              Eigen::VectorXd g(5);
              r.field("g", g);
            }).find("holds 4 elements, the run expects 5"),
            std::string::npos);
  EXPECT_NE(load_error(bytes, [](ecco::StateReader& r) {
              std::vector<std::uint32_t> g;
              r.field("g", g);
            }).find("stored with type"),
            std::string::npos);
  EXPECT_NE(load_error(bytes, [](ecco::StateReader&) {}).find("bytes after the last field"), std::string::npos);
  // A count far beyond the record is refused before any allocation.
  std::vector<std::byte> huge = bytes;
  const std::uint64_t count = std::uint64_t{1} << 60;
  std::memcpy(huge.data() + 1 + 2 + 1, &count, sizeof count);
  EXPECT_NE(load_error(huge, [](ecco::StateReader& r) {
              Eigen::VectorXd g;
              r.field("g", g);
            }).find("more than the record's remaining bytes"),
            std::string::npos);
}

// ---- damaged checkpoints ---------------------------------------------------------------

ecco::RunConfig small_run() {
  ecco::RunConfig config = ecco::testing::registry_case_config({"ef21", "topk:k=2", "0.05"});
  config.rounds = 12;
  return config;
}

std::string resume_error(const ecco::RunConfig& config, const std::string& dir) {
  ecco::RunOptions resuming;
  resuming.checkpoint.resume = dir;
  try {
    (void)ecco::run_serial(config, resuming);
  } catch (const ecco::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Checkpoints after rounds 4, 8 and 12 (keep 3); `damage` spoils the newest.
void expect_damaged_newest_falls_back(const std::string& name, const std::function<void(const fs::path&)>& damage,
                                      const std::string& reason) {
  SCOPED_TRACE(name);
  const TempDir dir("damaged-" + name);
  const ecco::RunConfig config = small_run();
  ecco::RunOptions writing;
  writing.checkpoint.dir = dir.str();
  writing.checkpoint.every = 4;
  writing.checkpoint.keep = 3;
  const ecco::RunResult whole = ecco::run_serial(config, writing);
  damage(dir.path() / "round-000000000012");
  ecco::RunOptions resuming;
  resuming.checkpoint.resume = dir.str();
  const ecco::RunResult resumed = ecco::run_serial(config, resuming);
  EXPECT_EQ(resumed.resumed_from, 8);
  ASSERT_EQ(resumed.warnings.size(), 1U);
  EXPECT_NE(resumed.warnings[0].find(reason), std::string::npos) << resumed.warnings[0];
  EXPECT_NE(resumed.warnings[0].find("round-000000000012"), std::string::npos) << resumed.warnings[0];
  expect_same_run(whole, resumed);
}

void flip_byte(const fs::path& file, std::size_t from_end) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const auto at = static_cast<std::streamoff>(f.tellg()) - static_cast<std::streamoff>(from_end);
  f.seekg(at);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x10);
  f.seekp(at);
  f.write(&c, 1);
}

TEST(Checkpoint, DamagedNewestIsSkippedForThePrevious) {
  expect_damaged_newest_falls_back("flipped client byte", [](const fs::path& d) { flip_byte(d / "clients-rank0.bin", 9); },
                                   "checksum mismatch");
  expect_damaged_newest_falls_back("flipped manifest byte", [](const fs::path& d) { flip_byte(d / "manifest.bin", 3); },
                                   "checksum mismatch");
  expect_damaged_newest_falls_back(
      "truncated client file",
      [](const fs::path& d) { fs::resize_file(d / "clients-rank0.bin", fs::file_size(d / "clients-rank0.bin") / 2); },
      "truncated");
  expect_damaged_newest_falls_back("missing client file", [](const fs::path& d) { fs::remove(d / "clients-rank0.bin"); },
                                   "missing or unreadable");
  expect_damaged_newest_falls_back("empty manifest", [](const fs::path& d) { fs::resize_file(d / "manifest.bin", 0); },
                                   "not an ecco checkpoint file");
}

TEST(Checkpoint, RefusesWhenNothingIsUsable) {
  const TempDir dir("unusable");
  const ecco::RunConfig config = small_run();
  EXPECT_NE(resume_error(config, dir.str()).find("not a directory"), std::string::npos);
  fs::create_directories(dir.path());
  EXPECT_NE(resume_error(config, dir.str()).find("no complete checkpoint in it"), std::string::npos);
  ecco::RunOptions writing;
  writing.checkpoint.dir = dir.str();
  writing.checkpoint.every = 6;
  (void)ecco::run_serial(config, writing);
  for (const char* round : {"round-000000000006", "round-000000000012"}) flip_byte(dir.path() / round / "manifest.bin", 1);
  const std::string error = resume_error(config, dir.str());
  EXPECT_NE(error.find("no usable checkpoint; newest: "), std::string::npos) << error;
  EXPECT_NE(error.find("round-000000000012"), std::string::npos) << error;
}

TEST(Checkpoint, RefusesAnotherRunNamingWhatDiffers) {
  const TempDir dir("another-run");
  ecco::RunConfig config = small_run();
  ecco::RunOptions writing;
  writing.checkpoint.dir = dir.str();
  writing.checkpoint.every = 6;
  (void)ecco::run_serial(config, writing);
  ecco::RunConfig other = config;
  other.seed = 9;
  other.compressor = "topk:k=3";
  const std::string error = resume_error(other, dir.str());
  EXPECT_NE(error.find("the checkpoint's run differs from this one"), std::string::npos) << error;
  EXPECT_NE(error.find("seed '9' (checkpoint: '1')"), std::string::npos) << error;
  EXPECT_NE(error.find("compressor 'topk:k=3' (checkpoint: 'topk:k=2')"), std::string::npos) << error;
  // What may change: the length of the run and how often it logs.
  ecco::RunConfig longer = config;
  longer.rounds = 20;
  longer.log_every = 3;
  ecco::RunOptions resuming;
  resuming.checkpoint.resume = dir.str();
  const ecco::RunResult extended = ecco::run_serial(longer, resuming);
  EXPECT_EQ(extended.resumed_from, 12);
  EXPECT_EQ(extended.rounds_run, 20);
}

// The reader behind --resume, on every truncation of a real manifest and rank file and on
// every single-byte change of their headers: refused with CheckpointError, never misread.
TEST(Checkpoint, ReaderRefusesEveryTruncationAndHeaderChange) {
  const TempDir dir("reader");
  ecco::RunOptions writing;
  writing.checkpoint.dir = dir.str();
  writing.checkpoint.every = 12;
  (void)ecco::run_serial(small_run(), writing);
  const fs::path round = dir.path() / "round-000000000012";
  for (const char* name : {"manifest.bin", "clients-rank0.bin"}) {
    SCOPED_TRACE(name);
    std::ifstream in(round / name, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::vector<std::byte> file(reinterpret_cast<const std::byte*>(chars.data()),
                                      reinterpret_cast<const std::byte*>(chars.data()) + chars.size());
    EXPECT_EQ(ecco::detail::check_checkpoint_file(file, name), std::string(name) == "manifest.bin" ? "manifest" : "rank file");
    for (std::size_t n = 0; n < file.size(); n += 1 + n / 16) {
      EXPECT_THROW(ecco::detail::check_checkpoint_file(std::span(file).first(n), name), ecco::CheckpointError) << n;
    }
    for (std::size_t at = 0; at < 28; ++at) {
      std::vector<std::byte> changed = file;
      changed[at] ^= std::byte{0x01};
      EXPECT_THROW(ecco::detail::check_checkpoint_file(changed, name), ecco::CheckpointError) << "byte " << at;
    }
  }
}

// Found by fuzz_checkpoint: a manifest whose history count says 2^40 rows (CRC made valid)
// was resized to that count before its rows were read (std::bad_alloc, or gigabytes).
// Refused as truncated now, allocating only what the record holds.
TEST(Checkpoint, AHugeListCountIsRefusedWithoutAllocatingIt) {
  const TempDir dir("huge-count");
  ecco::RunOptions writing;
  writing.checkpoint.dir = dir.str();
  writing.checkpoint.every = 12;
  (void)ecco::run_serial(small_run(), writing);
  std::ifstream in(dir.path() / "round-000000000012" / "manifest.bin", std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string name = "history count";
  const auto at = std::search(chars.begin(), chars.end(), name.begin(), name.end());
  ASSERT_NE(at, chars.end());
  const std::uint64_t huge = std::uint64_t{1} << 40;
  std::memcpy(&*at + name.size(), &huge, sizeof huge);
  std::vector<std::byte> file(reinterpret_cast<const std::byte*>(chars.data()),
                              reinterpret_cast<const std::byte*>(chars.data()) + chars.size());
  const std::size_t header = ecco::detail::kFileHeaderBytes;
  const std::uint32_t crc = ecco::detail::crc_of(std::span(file).subspan(header));
  std::memcpy(file.data() + 24, &crc, sizeof crc);
  try {
    (void)ecco::detail::check_checkpoint_file(file, "manifest.bin");
    ADD_FAILURE() << "accepted";
  } catch (const ecco::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

// Keeping K: older checkpoints are removed once a newer one is complete.
TEST(Checkpoint, KeepsTheNewestK) {
  const TempDir dir("keep");
  ecco::RunOptions writing;
  writing.checkpoint.dir = dir.str();
  writing.checkpoint.every = 2;
  writing.checkpoint.keep = 2;
  (void)ecco::run_serial(small_run(), writing);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"round-000000000010", "round-000000000012"}));
}

}  // namespace

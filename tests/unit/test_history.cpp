// The CSV writer: exact round trip of doubles, no file at the target until commit.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "ecco/atomic_file.hpp"
#include "ecco/error.hpp"
#include "ecco/history.hpp"

namespace {

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("ecco-history-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(History, CsvLineRoundTripsDoublesExactly) {
  ecco::MetricsRow row;
  row.round = 17;
  row.grad_norm_sq = 0.1 + 0.2;  // not representable in 15 digits
  row.loss = 1.0 / 3.0;
  row.bits_up = 123456789012345ULL;
  row.bits_down = 42;
  row.seconds = 1.5;
  const std::string line = ecco::csv_line(row);
  std::stringstream in(line);
  std::string field;
  std::getline(in, field, ',');
  EXPECT_EQ(field, "17");
  std::getline(in, field, ',');
  EXPECT_EQ(std::strtod(field.c_str(), nullptr), 0.1 + 0.2);
  std::getline(in, field, ',');
  EXPECT_EQ(std::strtod(field.c_str(), nullptr), 1.0 / 3.0);
  std::getline(in, field, ',');
  EXPECT_EQ(field, "123456789012345");
  std::getline(in, field, ',');
  EXPECT_EQ(field, "42");
  std::getline(in, field, ',');
  EXPECT_EQ(field, "1.500000");
}

TEST(History, WriterPublishesOnlyOnCommit) {
  const auto dir = temp_dir("commit");
  const auto path = dir / "run.csv";
  {
    ecco::CsvHistoryWriter writer(path.string());
    ecco::MetricsRow row;
    writer.write(row);
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::exists(path.string() + ".partial"));
    writer.commit();
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".partial"));
  EXPECT_EQ(slurp(path), std::string(ecco::kCsvHeader) + "\n0,0,0,0,0,0.000000,0,0,0,,,\n");
  std::filesystem::remove_all(dir);
}

TEST(History, AbandonedWriterLeavesNothing) {
  const auto dir = temp_dir("abandon");
  const auto path = dir / "run.csv";
  {
    ecco::CsvHistoryWriter writer(path.string());
    writer.write(ecco::MetricsRow{});
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".partial"));
  std::filesystem::remove_all(dir);
}

TEST(History, UnwritablePathIsAConfigError) {
  EXPECT_THROW(ecco::CsvHistoryWriter("/nonexistent-dir/run.csv"), ecco::ConfigError);
}

// Outputs are compared with inputs and with each other as files, not as spellings.
TEST(SameFile, ComparesFilesNotSpellings) {
  const auto dir = temp_dir("same");
  std::filesystem::create_directories(dir / "sub");
  { std::ofstream(dir / "a.txt") << "a\n"; }
  { std::ofstream(dir / "b.txt") << "b\n"; }
  std::filesystem::create_symlink("a.txt", dir / "link.txt");
  std::filesystem::create_hard_link(dir / "a.txt", dir / "hard.txt");
  const std::string a = (dir / "a.txt").string();
  EXPECT_TRUE(ecco::same_file(a, a));
  EXPECT_TRUE(ecco::same_file(a, (dir / "sub" / ".." / "a.txt").string()));
  EXPECT_TRUE(ecco::same_file(a, (dir / "link.txt").string()));
  EXPECT_TRUE(ecco::same_file(a, (dir / "hard.txt").string()));
  EXPECT_FALSE(ecco::same_file(a, (dir / "b.txt").string()));
  // Neither exists: the canonical paths decide; one exists: different files.
  EXPECT_TRUE(ecco::same_file((dir / "new.csv").string(), (dir / "sub" / ".." / "new.csv").string()));
  EXPECT_FALSE(ecco::same_file((dir / "new.csv").string(), (dir / "sub" / "new.csv").string()));
  EXPECT_FALSE(ecco::same_file(a, (dir / "new.csv").string()));
  std::filesystem::remove_all(dir);
}

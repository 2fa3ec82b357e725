// The CSV writer: exact round trip of doubles, no file at the target until commit.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

// The files of a folder whose names start with prefix.
std::vector<std::string> files_starting(const std::filesystem::path& dir, const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
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
    // Its own temporary file beside the target, and the lock.
    EXPECT_EQ(writer.partial_path().rfind(path.string() + ".partial." + std::to_string(::getpid()) + ".", 0), 0U);
    EXPECT_TRUE(std::filesystem::exists(writer.partial_path()));
    EXPECT_EQ(files_starting(dir, "run.csv"), (std::vector<std::string>{
                                                   "run.csv.lock", std::filesystem::path(writer.partial_path()).filename()}));
    writer.commit();
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(files_starting(dir, "run.csv"), std::vector<std::string>{"run.csv"});
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
  EXPECT_TRUE(files_starting(dir, "run.csv").empty());
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

// Two writers of one path (two runs sharing --out): the second is refused while the first
// lives, naming its pid; once the first is gone, the path is free again. A lock file left
// by a killed process holds no lock and is taken over.
TEST(AtomicFile, OneWriterPerPath) {
  const auto dir = temp_dir("lock");
  const std::string path = (dir / "run.csv").string();
  {
    ecco::AtomicFile first(path, "--out");
    std::fprintf(first.stream(), "first\n");
    try {
      ecco::AtomicFile second(path, "--summary");
      ADD_FAILURE() << "a second writer of " << path << " was accepted";
    } catch (const ecco::ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("--summary " + path + ": another run (pid " + std::to_string(::getpid()) + " on host "),
                std::string::npos)
          << what;
      EXPECT_NE(what.find("wait for it to finish or choose another path"), std::string::npos) << what;
    }
    first.commit();
  }
  EXPECT_EQ(slurp(path), "first\n");
  { std::ofstream(path + ".lock") << "pid 1 on host gone\n"; }  // left by a killed run
  {
    ecco::AtomicFile again(path, "--out");
    std::fprintf(again.stream(), "again\n");
    again.commit();
  }
  EXPECT_EQ(slurp(path), "again\n");
  EXPECT_EQ(files_starting(dir, "run.csv"), std::vector<std::string>{"run.csv"});
  std::filesystem::remove_all(dir);
}

// Temporaries of one path never share a name (each is created with O_EXCL).
TEST(AtomicFile, TemporariesAreUnique) {
  const auto dir = temp_dir("unique");
  std::vector<std::string> names;
  for (int k = 0; k < 20; ++k) {
    ecco::AtomicFile file((dir / "run.csv").string(), "--out");
    names.push_back(file.partial_path());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_TRUE(files_starting(dir, "run.csv").empty());
  std::filesystem::remove_all(dir);
}

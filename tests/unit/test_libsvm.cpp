// Unit tests of read_libsvm: good files, every malformed-line case (DataError "path:line:"),
// file-level errors (DataError "path:") and the papers' datasets when present.
#include <gtest/gtest.h>

#include <cctype>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "ecco/dataset.hpp"
#include "ecco/error.hpp"
#include "test_data.hpp"

namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device device;
    for (int attempt = 0;; ++attempt) {
      const fs::path candidate = fs::temp_directory_path() / ("ecco-unit-libsvm-" + std::to_string(device()) + "-" +
                                                              std::to_string(attempt));
      if (fs::create_directory(candidate)) {
        path_ = candidate;
        break;
      }
    }
  }
  ~TempDir() {
    std::error_code ignored;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

  // Writes `content` byte for byte (binary mode, so "\r\n" stays as written).
  std::string write(const std::string& name, const std::string& content) const {
    const fs::path file = path_ / name;
    std::ofstream out(file, std::ios::binary);
    out << content;
    out.close();
    EXPECT_TRUE(out) << "could not write " << file;
    return file.string();
  }

 private:
  fs::path path_;
};

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// Reads `path` expecting a DataError; returns its message ("" and a failure otherwise).
std::string data_error_message(const std::string& path, std::optional<std::size_t> dim = std::nullopt) {
  try {
    (void)ecco::read_libsvm(path, dim);
  } catch (const ecco::DataError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ecco::DataError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected ecco::DataError for " << path << ", nothing was thrown";
  return {};
}

// Expects a DataError whose message starts with "path:line:".
void expect_line_error(const std::string& path, std::size_t line, std::optional<std::size_t> dim = std::nullopt,
                       const std::string& needle = "") {
  const std::string msg = data_error_message(path, dim);
  const std::string prefix = path + ":" + std::to_string(line) + ":";
  EXPECT_TRUE(starts_with(msg, prefix)) << "message: '" << msg << "'\nexpected prefix: '" << prefix << "'";
  if (!needle.empty()) {
    EXPECT_NE(msg.find(needle), std::string::npos) << "message: '" << msg << "' lacks '" << needle << "'";
  }
}

// Expects a DataError whose message starts with "path:" and carries no line number.
void expect_file_error(const std::string& path, std::optional<std::size_t> dim = std::nullopt) {
  const std::string msg = data_error_message(path, dim);
  const std::string prefix = path + ":";
  ASSERT_TRUE(starts_with(msg, prefix)) << "message: '" << msg << "'\nexpected prefix: '" << prefix << "'";
  ASSERT_GT(msg.size(), prefix.size()) << msg;
  EXPECT_FALSE(std::isdigit(static_cast<unsigned char>(msg[prefix.size()]))) << "file-level error has a line: " << msg;
}

Eigen::MatrixXd dense(const ecco::Dataset& data) { return data.features.toDense(); }

std::vector<double> labels_of(const ecco::Dataset& data) {
  return std::vector<double>(data.labels.data(), data.labels.data() + data.labels.size());
}

// ---------------------------------------------------------------------------------------
// Good files

TEST(LibsvmRead, GoodFileValuesColumnsAndDim) {
  const TempDir dir;
  const std::string path = dir.write("good.txt",
                                     "# a header comment\n"
                                     "1 1:0.5 3:-2 # a tail comment\n"
                                     "\n"
                                     "2 2:1.5\n"
                                     "   \t \n"
                                     "2 3:4e-1 5:+7\n");
  const ecco::Dataset data = ecco::read_libsvm(path);
  ASSERT_EQ(data.rows(), 3U);
  ASSERT_EQ(data.dim(), 5U);  // the largest 1-based index present
  EXPECT_EQ(data.source, path);
  EXPECT_EQ(data.features.nonZeros(), 5);

  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(3, 5);
  expected(0, 0) = 0.5;  // "1:" is column 0
  expected(0, 2) = -2.0;
  expected(1, 1) = 1.5;
  expected(2, 2) = 0.4;
  expected(2, 4) = 7.0;
  EXPECT_EQ(dense(data), expected);
  // Labels {1, 2}: the smaller one becomes -1.
  EXPECT_EQ(labels_of(data), (std::vector<double>{-1.0, 1.0, 1.0}));
}

TEST(LibsvmRead, LabelsZeroOneBecomeMinusOnePlusOne) {
  const TempDir dir;
  const std::string path = dir.write("01.txt", "0 1:1\n1 2:1\n0 1:2\n1 1:3\n");
  EXPECT_EQ(labels_of(ecco::read_libsvm(path)), (std::vector<double>{-1.0, 1.0, -1.0, 1.0}));
}

TEST(LibsvmRead, SignedLabelsStayAsTheyAre) {
  const TempDir dir;
  const std::string path = dir.write("pm.txt", "+1 1:1\n-1 2:1\n+1 1:1\n");
  EXPECT_EQ(labels_of(ecco::read_libsvm(path)), (std::vector<double>{1.0, -1.0, 1.0}));
}

TEST(LibsvmRead, SmallestLabelBecomesMinusOneWhateverTheOrder) {
  const TempDir dir;
  // The first row has the larger label; order of appearance must not matter.
  const std::string path = dir.write("53.txt", "5 1:1\n3 1:1\n5 1:1\n");
  EXPECT_EQ(labels_of(ecco::read_libsvm(path)), (std::vector<double>{1.0, -1.0, 1.0}));
}

TEST(LibsvmRead, EqualNumbersWrittenDifferentlyAreOneLabel) {
  const TempDir dir;
  const std::string path = dir.write("eq.txt", "1.0 1:1\n1 1:1\n2 1:1\n");
  EXPECT_EQ(labels_of(ecco::read_libsvm(path)), (std::vector<double>{-1.0, -1.0, 1.0}));
}

TEST(LibsvmRead, MoreThanTwoLabelsAreKeptAsRead) {
  const TempDir dir;
  const std::string path = dir.write("multi.txt", "3 1:1\n1 1:1\n2 2:1\n3 1:1\n");
  EXPECT_EQ(labels_of(ecco::read_libsvm(path)), (std::vector<double>{3.0, 1.0, 2.0, 3.0}));
}

TEST(LibsvmRead, LabelOnlyRowsAreAllowed) {
  const TempDir dir;
  const std::string path = dir.write("labelonly.txt", "1\n-1 2:3\n1 \n-1 # comment\n");
  const ecco::Dataset data = ecco::read_libsvm(path);
  ASSERT_EQ(data.rows(), 4U);
  ASSERT_EQ(data.dim(), 2U);
  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(4, 2);
  expected(1, 1) = 3.0;
  EXPECT_EQ(dense(data), expected);
  EXPECT_EQ(labels_of(data), (std::vector<double>{1.0, -1.0, 1.0, -1.0}));
}

TEST(LibsvmRead, CommentAndBlankLinesAreSkipped) {
  const TempDir dir;
  const std::string path = dir.write("comments.txt", "# first\n  # indented comment\n\n\n1 1:2#no space\n\t\n-1 1:3\n# last\n");
  const ecco::Dataset data = ecco::read_libsvm(path);
  ASSERT_EQ(data.rows(), 2U);
  ASSERT_EQ(data.dim(), 1U);
  EXPECT_EQ(data.features.coeff(0, 0), 2.0);
  EXPECT_EQ(data.features.coeff(1, 0), 3.0);
}

TEST(LibsvmRead, TabsSeparateTokens) {
  const TempDir dir;
  const std::string path = dir.write("tabs.txt", "1\t1:2\t2:3\n-1\t\t2:4\n");
  const ecco::Dataset data = ecco::read_libsvm(path);
  Eigen::MatrixXd expected(2, 2);
  expected << 2.0, 3.0, 0.0, 4.0;
  EXPECT_EQ(dense(data), expected);
}

TEST(LibsvmRead, CrlfLineEndings) {
  const TempDir dir;
  const std::string path = dir.write("crlf.txt", "1 1:1.25 3:2\r\n\r\n# comment\r\n-1 2:0.5 # tail\r\n-1\r\n");
  const ecco::Dataset data = ecco::read_libsvm(path);
  ASSERT_EQ(data.rows(), 3U);
  ASSERT_EQ(data.dim(), 3U);
  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(3, 3);
  expected(0, 0) = 1.25;
  expected(0, 2) = 2.0;
  expected(1, 1) = 0.5;
  EXPECT_EQ(dense(data), expected);
  EXPECT_EQ(labels_of(data), (std::vector<double>{1.0, -1.0, -1.0}));
}

TEST(LibsvmRead, NoTrailingNewline) {
  const TempDir dir;
  const std::string path = dir.write("nonl.txt", "1 1:1\n-1 3:2");
  const ecco::Dataset data = ecco::read_libsvm(path);
  ASSERT_EQ(data.rows(), 2U);
  ASSERT_EQ(data.dim(), 3U);
  EXPECT_EQ(data.features.coeff(1, 2), 2.0);

  // Like w1a.txt: the last byte is a space.
  const std::string spaced = dir.write("space.txt", "1 1:1\n-1 2:2 ");
  const ecco::Dataset other = ecco::read_libsvm(spaced);
  ASSERT_EQ(other.rows(), 2U);
  EXPECT_EQ(other.features.coeff(1, 1), 2.0);
}

TEST(LibsvmRead, ExplicitDimLargerThanMaxIndex) {
  const TempDir dir;
  const std::string path = dir.write("dim.txt", "1 1:1 3:2\n-1 2:5\n");
  const ecco::Dataset data = ecco::read_libsvm(path, 10);
  ASSERT_EQ(data.rows(), 2U);
  ASSERT_EQ(data.dim(), 10U);
  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(2, 10);
  expected(0, 0) = 1.0;
  expected(0, 2) = 2.0;
  expected(1, 1) = 5.0;
  EXPECT_EQ(dense(data), expected);
}

TEST(LibsvmRead, ExplicitDimEqualToMaxIndex) {
  const TempDir dir;
  const std::string path = dir.write("dimeq.txt", "1 1:1 3:2\n-1 2:5\n");
  EXPECT_EQ(ecco::read_libsvm(path, 3).dim(), 3U);
}

TEST(LibsvmRead, ExplicitDimAllowsRowsWithoutFeatures) {
  const TempDir dir;
  const std::string path = dir.write("nofeat.txt", "1\n-1\n");
  const ecco::Dataset data = ecco::read_libsvm(path, 4);
  EXPECT_EQ(data.rows(), 2U);
  EXPECT_EQ(data.dim(), 4U);
  EXPECT_EQ(data.features.nonZeros(), 0);
}

TEST(LibsvmRead, ExplicitZeroValuesAndNumberForms) {
  const TempDir dir;
  const std::string path = dir.write("forms.txt", "1 1:0 2:-0.0 3:1E2 4:.5 5:-3\n");
  const ecco::Dataset data = ecco::read_libsvm(path);
  ASSERT_EQ(data.dim(), 5U);
  EXPECT_EQ(data.features.coeff(0, 2), 100.0);
  EXPECT_EQ(data.features.coeff(0, 3), 0.5);
  EXPECT_EQ(data.features.coeff(0, 4), -3.0);
}

// Found by fuzzing (tests/fuzz/fuzz_libsvm.cpp): the largest allowed index, 2^32 - 1, gives
// d = 2^32 - 1, and the reader once copied its arrays into the matrix through an Eigen::Map,
// whose generic sparse copy reserved 2 max(rows, d) entries (64 GB: std::bad_alloc). The
// memory is now that of the entries read.
TEST(LibsvmRead, LargestMagnitudeIsTheFp32Maximum) {
  const TempDir dir;
  const std::string path = dir.write("big.txt", "1 1:3.4028234e38\n-1 2:-3.4028234e38\n");
  const ecco::Dataset data = ecco::read_libsvm(path);
  EXPECT_EQ(data.features.coeff(0, 0), 3.4028234e38);
  EXPECT_EQ(data.features.coeff(1, 1), -3.4028234e38);
}

TEST(LibsvmRead, LargestIndexTakesNoMemoryProportionalToDim) {
  const TempDir dir;
  const std::string path = dir.write("max-index.txt", "1 4294967295:1\n0 1:2\n");
  const ecco::Dataset data = ecco::read_libsvm(path);
  ASSERT_EQ(data.rows(), 2U);
  EXPECT_EQ(data.dim(), std::size_t{4294967295});
  ASSERT_EQ(data.features.nonZeros(), 2);
  EXPECT_EQ(data.features.coeff(0, 4294967294), 1.0);
  EXPECT_EQ(data.features.coeff(1, 0), 2.0);
  EXPECT_EQ(data.labels[0], 1.0);
  EXPECT_EQ(data.labels[1], -1.0);
  // One index above is the reader's documented limit, a DataError.
  const std::string above = dir.write("above-max.txt", "1 4294967296:1\n");
  EXPECT_THROW(ecco::read_libsvm(above), ecco::DataError);
}

// ---------------------------------------------------------------------------------------
// Malformed lines: DataError "path:LINE:" for the right line.

struct MalformedCase {
  const char* name;
  const char* content;
  std::size_t line;
  std::optional<std::size_t> dim;
  const char* needle;  // a piece of the offending text the message should quote ("" = none)
};

// Printed by gtest next to a failing case instead of the raw bytes of the struct.
void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class LibsvmMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(LibsvmMalformed, ThrowsDataErrorWithPathAndLine) {
  const MalformedCase& c = GetParam();
  const TempDir dir;
  const std::string path = dir.write("bad.txt", c.content);
  expect_line_error(path, c.line, c.dim, c.needle);
}

const MalformedCase kMalformed[] = {
    {"TokenWithoutColon", "1 1:1\n-1 3\n", 2, std::nullopt, "3"},
    {"TokenWithEmptyValue", "1 1:1\n-1 3:\n", 2, std::nullopt, "3:"},
    {"TokenWithEmptyIndex", "1 :3\n", 1, std::nullopt, ":3"},
    {"IndexZero", "1 1:1\n1 2:1\n-1 0:1\n", 3, std::nullopt, "0"},
    {"IndexNegative", "1 1:1\n-1 -2:1\n", 2, std::nullopt, "-2"},
    {"ValueNotANumber", "1 1:1\n-1 3:abc\n", 2, std::nullopt, "abc"},
    {"ValueWithTrailingJunk", "1 3:1.5x\n", 1, std::nullopt, "1.5x"},
    {"IndexNotAnInteger", "1 1:1\n-1 1.5:2\n", 2, std::nullopt, "1.5"},
    {"IndexNotANumber", "1 x:2\n", 1, std::nullopt, "x"},
    {"IndexOverflow", "1 99999999999999999999:2\n", 1, std::nullopt, "99999999999999999999"},
    {"ValueNan", "1 1:1\n-1 3:nan\n", 2, std::nullopt, "nan"},
    {"ValueInf", "1 1:1\n-1 3:inf\n", 2, std::nullopt, "inf"},
    {"ValueMinusInf", "1 1:1\n-1 3:-inf\n", 2, std::nullopt, "-inf"},
    {"ValueOutOfRange", "1 3:1e999\n", 1, std::nullopt, "1e999"},
    // Finite but beyond fp32's 3.4028235e38: ||a_j||^2 of 1e160 is inf, the constants would
    // be silently wrong (issue 17). The fp32 maximum itself is accepted (LargestMagnitude...).
    {"ValueAboveFp32Range", "1 1:1\n-1 3:1e160\n", 2, std::nullopt, "1e160"},
    {"ValueJustAboveFp32Range", "1 1:1\n-1 3:-3.41e38\n", 2, std::nullopt, "-3.41e38"},
    {"LabelAboveFp32Range", "1 1:1\n1e308 3:1\n", 2, std::nullopt, "1e308"},
    {"LabelNan", "1 1:1\nnan 3:1\n", 2, std::nullopt, "nan"},
    {"LabelInf", "1 1:1\n-1 1:1\ninf 3:1\n", 3, std::nullopt, "inf"},
    {"LabelNotANumber", "1 1:1\nabc 3:1\n", 2, std::nullopt, "abc"},
    // A sign must be followed by digits: "+-1" is not a number in any notation.
    {"LabelPlusMinus", "1 1:1\n+-1 3:1\n", 2, std::nullopt, "+-1"},
    {"ValuePlusMinus", "1 1:1\n-1 3:+-2\n", 2, std::nullopt, "+-2"},
    {"IndexOutOfOrder", "1 1:1\n-1 3:1 2:1\n", 2, std::nullopt, "2"},
    {"IndexRepeated", "1 1:1\n-1 3:1 3:2\n", 2, std::nullopt, "3"},
    {"LabelMissing", "1 1:1\n1:0.5 2:1\n", 2, std::nullopt, "1:0.5"},
    {"IndexAboveExplicitDim", "1 1:1\n-1 2:1 5:1\n", 2, std::size_t{4}, "5"},
    // Line numbers count blank and comment lines, and CRLF does not change them.
    {"LineCountsIncludeSkippedLines", "# c\n\n1 1:1\n   \n-1 0:1\n", 5, std::nullopt, ""},
    {"LineCountWithCrlf", "1 1:1\r\n\r\n-1 2:abc\r\n", 3, std::nullopt, "abc"},
    {"ErrorOnLastLineWithoutNewline", "1 1:1\n-1 2:1 1:1", 2, std::nullopt, ""},
    {"ErrorAfterCommentTailIsNotHidden", "1 1:1 # ok\n-1 2:x # tail\n", 2, std::nullopt, "x"},
};

INSTANTIATE_TEST_SUITE_P(Libsvm, LibsvmMalformed, ::testing::ValuesIn(kMalformed),
                         [](const ::testing::TestParamInfo<MalformedCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

// Binary input fails at its first bad byte, naming the line and column, whatever the file's
// size; a line may hold at most kMaxLibsvmLineBytes (issue 17: a 2 GB file of NUL bytes used
// to be read as one line of 2 GB before its first token was checked).
TEST(LibsvmMalformedBytes, NulByteNamesLineAndColumn) {
  const TempDir dir;
  const std::string path = dir.write("nul.txt", std::string("1 1:1\n-1 2:\0" "1\n", 15));
  expect_line_error(path, 2, std::nullopt, "not a text file: byte 0x00 at column 6");
}

TEST(LibsvmMalformedBytes, GzipFileIsNotText) {
  const TempDir dir;
  const std::string path = dir.write("data.txt.gz", std::string("\x1f\x8b\x08\x00\x00\x00", 6));
  expect_line_error(path, 1, std::nullopt, "byte 0x1F at column 1 (a LIBSVM file is text");
}

TEST(LibsvmMalformedBytes, LargeFileOfNulBytesFailsInItsFirstBlock) {
  const TempDir dir;
  const std::string path = dir.write("zeros.txt", std::string(std::size_t{3} << 20, '\0'));
  expect_line_error(path, 1, std::nullopt, "byte 0x00 at column 1");
}

TEST(LibsvmMalformedBytes, LineLongerThanTheLimit) {
  const TempDir dir;
  std::string content = "1 1:1\n-1 ";
  content.append(ecco::kMaxLibsvmLineBytes, ' ');
  content += "2:1\n";
  const std::string path = dir.write("long.txt", content);
  expect_line_error(path, 2, std::nullopt, "line longer than 64 MiB");
}

// Lines that cross the reader's 1 MiB blocks are read whole.
TEST(LibsvmRead, LinesAcrossBlocks) {
  const TempDir dir;
  std::string content;
  const std::size_t rows = 150000;  // 15 bytes per row: 2.1 MiB
  for (std::size_t r = 0; r < rows; ++r) content += (r % 2 == 0 ? "1 1:0.5 3:0.25\n" : "-1 2:1.5\n");
  const ecco::Dataset data = ecco::read_libsvm(dir.write("blocks.txt", content));
  ASSERT_EQ(data.rows(), rows);
  ASSERT_EQ(data.features.nonZeros(), static_cast<Eigen::Index>(rows / 2 * 3));
  for (std::size_t r = 0; r < rows; ++r) {
    const auto row = static_cast<Eigen::Index>(r);
    if (r % 2 == 0) {
      ASSERT_EQ(data.features.coeff(row, 0), 0.5) << r;
      ASSERT_EQ(data.features.coeff(row, 2), 0.25) << r;
    } else {
      ASSERT_EQ(data.features.coeff(row, 1), 1.5) << r;
    }
  }
}

// ---------------------------------------------------------------------------------------
// File-level errors: DataError "path:" without a line.

TEST(LibsvmFileErrors, EmptyFile) {
  const TempDir dir;
  expect_file_error(dir.write("empty.txt", ""));
}

TEST(LibsvmFileErrors, CommentsAndBlankLinesOnly) {
  const TempDir dir;
  expect_file_error(dir.write("comments.txt", "# nothing\n\n   # here\n\r\n"));
}

TEST(LibsvmFileErrors, NonexistentPath) {
  const TempDir dir;
  expect_file_error((dir.path() / "does-not-exist.txt").string());
}

TEST(LibsvmFileErrors, Directory) {
  const TempDir dir;
  const fs::path sub = dir.path() / "a-directory";
  ASSERT_TRUE(fs::create_directory(sub));
  expect_file_error(sub.string());
}

TEST(LibsvmFileErrors, UnreadableFile) {
  const TempDir dir;
  const std::string path = dir.write("secret.txt", "1 1:1\n");
  fs::permissions(path, fs::perms::none);
  if (std::ifstream(path)) {
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    GTEST_SKIP() << "file permissions are not enforced for this user (e.g. root)";
  }
  expect_file_error(path);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

TEST(LibsvmFileErrors, NoRowHasFeaturesAndNoDim) {
  const TempDir dir;
  expect_file_error(dir.write("nofeat.txt", "1\n-1 # only labels\n1\n"));
}

// ---------------------------------------------------------------------------------------
// The papers' datasets (skipped when absent).

TEST(LibsvmDatasets, Mushrooms) {
  ECCO_REQUIRE_DATASET(path, "libsvm/mushrooms.txt");
  const ecco::Dataset data = ecco::read_libsvm(path);
  EXPECT_EQ(data.rows(), 8124U);
  EXPECT_EQ(data.dim(), 112U);
  std::size_t negatives = 0;
  std::size_t positives = 0;
  for (Eigen::Index i = 0; i < data.labels.size(); ++i) {
    if (data.labels[i] == -1.0) {
      ++negatives;
    } else if (data.labels[i] == 1.0) {
      ++positives;
    } else {
      ADD_FAILURE() << "row " << i << " has label " << data.labels[i];
    }
  }
  EXPECT_EQ(negatives, 3916U);  // label 1 in the file (the smaller one)
  EXPECT_EQ(positives, 4208U);
}

TEST(LibsvmDatasets, W8a) {
  ECCO_REQUIRE_DATASET(path, "libsvm/w8a.txt");
  const ecco::Dataset data = ecco::read_libsvm(path);
  EXPECT_EQ(data.rows(), 49749U);
  EXPECT_EQ(data.dim(), 300U);
  std::size_t negatives = 0;
  std::size_t empty_rows = 0;
  for (Eigen::Index i = 0; i < data.labels.size(); ++i) {
    if (data.labels[i] == -1.0) ++negatives;
    if (data.features.outerIndexPtr()[i + 1] == data.features.outerIndexPtr()[i]) ++empty_rows;
  }
  EXPECT_EQ(negatives, 48270U);
  EXPECT_EQ(empty_rows, 4203U);
}

}  // namespace

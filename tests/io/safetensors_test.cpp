#include "qkv/io/safetensors.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "qkv/io/mapped_file.hpp"

namespace {

namespace fs = std::filesystem;
using qkv::DType;
using qkv::Shape;
using qkv::Tensor;
using qkv::TensorView;
using qkv::io::MappedFile;
using qkv::io::SafetensorsFile;
using qkv::io::write_safetensors;

// Passes when `f` throws qkv::Error whose message contains every one of `parts`.
template <class F>
::testing::AssertionResult throws_with(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const qkv::Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << p << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-qkv exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[std::size_t(i)] = char((v >> (8 * i)) & 0xff);
  return s;
}

std::string le16s(std::initializer_list<std::uint16_t> values) {
  std::string s;
  for (std::uint16_t v : values) s += {char(v & 0xff), char(v >> 8)};
  return s;
}

std::string f32s(std::initializer_list<float> values) {
  std::string s;
  for (float f : values) {
    const std::uint32_t u = qkv::f32_bits(f);
    for (int i = 0; i < 4; ++i) s += char((u >> (8 * i)) & 0xff);
  }
  return s;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("qkv_safetensors_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string write_raw(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }
  // A file with a correct header length prefix: le64(len) + header + data.
  std::string write_file(const std::string& name, const std::string& header, const std::string& data) const {
    return write_raw(name, le64(header.size()) + header + data);
  }
  // Writes `header` with `data_bytes` zero bytes and expects open() to fail naming the file and `parts`.
  ::testing::AssertionResult rejects(const std::string& header, std::size_t data_bytes,
                                     std::initializer_list<std::string> parts) const {
    const std::string p = write_file("bad.safetensors", header, std::string(data_bytes, '\0'));
    auto r = throws_with([&] { SafetensorsFile::open(p); }, {p});
    if (!r) return r;
    return throws_with([&] { SafetensorsFile::open(p); }, parts);
  }

  fs::path dir_;
};

// --- MappedFile ---------------------------------------------------------------------------

TEST_F(SafetensorsTest, MappedFileMapsContentsAndMoves) {
  const std::string p = write_raw("m.bin", "hello");
  MappedFile f = MappedFile::open(p);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.data()), f.size()), "hello");
  EXPECT_EQ(f.path(), p);
  MappedFile g = std::move(f);
  EXPECT_EQ(g.size(), 5u);
  EXPECT_EQ(f.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(char(g.data()[4]), 'o');
}

TEST_F(SafetensorsTest, MappedFileEmptyFileIsFine) {
  MappedFile f = MappedFile::open(write_raw("e.bin", ""));
  EXPECT_EQ(f.size(), 0u);
}

TEST_F(SafetensorsTest, MappedFileMissingNamesPathAndReason) {
  const std::string p = path("nope.bin");
  EXPECT_TRUE(throws_with([&] { MappedFile::open(p); }, {p, "No such file"}));
  EXPECT_TRUE(throws_with([&] { MappedFile::open(dir_.string()); }, {dir_.string(), "not a regular file"}));
}

// --- Malformed files ------------------------------------------------------------------------

TEST_F(SafetensorsTest, MissingFile) {
  const std::string p = path("missing.safetensors");
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(p); }, {p, "No such file"}));
}

TEST_F(SafetensorsTest, EmptyFile) {
  const std::string p = write_raw("empty.safetensors", "");
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(p); }, {p, "at least 8"}));
}

TEST_F(SafetensorsTest, TruncatedHeaderLength) {
  const std::string p = write_raw("short.safetensors", std::string("\x02\0\0\0\0", 5));
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(p); }, {p, "is 5 bytes", "at least 8"}));
}

TEST_F(SafetensorsTest, HeaderLengthBeyondFile) {
  const std::string p = write_raw("long.safetensors", le64(1000) + "{}");
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(p); }, {p, "header length 1000", "exceeds the 2 bytes"}));
}

TEST_F(SafetensorsTest, HeaderLengthAboveLimit) {
  const std::string p = write_raw("huge.safetensors", le64(100'000'001) + "{}");
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(p); }, {p, "100000001", "limit of 100000000"}));
  const std::string q = write_raw("huge2.safetensors", le64(~std::uint64_t{0}) + "{}");
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(q); }, {q, "limit"}));
}

TEST_F(SafetensorsTest, NotJson) {
  EXPECT_TRUE(rejects("{\"a\": ", 0, {"not valid JSON"}));
  EXPECT_TRUE(rejects("", 0, {"not valid JSON"}));
}

TEST_F(SafetensorsTest, InvalidUtf8) {
  EXPECT_TRUE(rejects("{\"a\xff\": {}}", 0, {"UTF-8"}));
  EXPECT_TRUE(rejects("{\"\xc0\xaf\": {}}", 0, {"UTF-8"}));          // overlong '/'
  EXPECT_TRUE(rejects("{\"\xed\xa0\x80\": {}}", 0, {"UTF-8"}));      // surrogate
  EXPECT_TRUE(rejects("{\"\xe2\x82\": {}}", 0, {"UTF-8"}));          // truncated sequence
}

TEST_F(SafetensorsTest, NotAnObject) {
  EXPECT_TRUE(rejects("[]", 0, {"JSON array", "expected an object"}));
  EXPECT_TRUE(rejects("{\"t\": 5}", 0, {"tensor 't'", "expected an object"}));
}

TEST_F(SafetensorsTest, MissingKey) {
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1]}})", 4, {"tensor 't'", "missing key 'data_offsets'"}));
  EXPECT_TRUE(rejects(R"({"t": {"shape": [1], "data_offsets": [0, 4]}})", 4, {"tensor 't'", "missing key 'dtype'"}));
}

TEST_F(SafetensorsTest, ExtraKey) {
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "foo": 1}})", 4,
                      {"tensor 't'", "unexpected key 'foo'"}));
}

TEST_F(SafetensorsTest, UnknownOrUnsupportedDtype) {
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "XYZ", "shape": [1], "data_offsets": [0, 4]}})", 4,
                      {"tensor 't'", "unsupported dtype 'XYZ'", "F32"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "I8", "shape": [1], "data_offsets": [0, 1]}})", 1,
                      {"tensor 't'", "unsupported dtype 'I8'"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}})", 1,
                      {"tensor 't'", "unsupported dtype 'F8_E4M3'"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": 3, "shape": [1], "data_offsets": [0, 4]}})", 4,
                      {"tensor 't'", "expected a string"}));
}

TEST_F(SafetensorsTest, BadShapeEntries) {
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4,
                      {"tensor 't'", "shape entry -1", "non-negative integer"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4,
                      {"tensor 't'", "shape entry 1.5"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]}})", 8,
                      {"tensor 't'", "non-negative integer"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}})", 8,
                      {"tensor 't'", "expected an array"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1,1,1,1,1,1,1], "data_offsets": [0, 4]}})", 4,
                      {"tensor 't'", "rank 7", "at most 6"}));
}

TEST_F(SafetensorsTest, BadOffsets) {
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", 4,
                      {"tensor 't'", "end before begin"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", 4,
                      {"tensor 't'", "[begin, end] of non-negative integers"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})", 4,
                      {"tensor 't'", "[begin, end]"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.0]}})", 4,
                      {"tensor 't'", "[begin, end]"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4,
                      {"tensor 't'", "run past the data section of 4 bytes"}));
}

TEST_F(SafetensorsTest, Gap) {
  EXPECT_TRUE(rejects(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                          "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                      12, {"gap", "tensor 'a'", "tensor 'b'"}));
}

TEST_F(SafetensorsTest, Overlap) {
  EXPECT_TRUE(rejects(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                          "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                      12, {"overlaps", "tensor 'a'", "tensor 'b'"}));
}

TEST_F(SafetensorsTest, NotStartingAtZero) {
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", 8,
                      {"tensor 't'", "starts at byte 4", "first tensor at 0"}));
}

TEST_F(SafetensorsTest, SizeMismatchWithShape) {
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})", 20,
                      {"tensor 't'", "span 20 bytes, expected 24", "F32 [2, 3]"}));
}

TEST_F(SafetensorsTest, OverflowingShape) {
  // 2^62 * 16 elements overflows; so do 2^62 * 4 bytes with a harmless element count.
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [4611686018427387904, 16], "data_offsets": [0, 4]}})", 4,
                      {"tensor 't'", "overflows"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 4]}})", 4,
                      {"tensor 't'", "overflows"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [18446744073709551615], "data_offsets": [0, 4]}})", 4,
                      {"tensor 't'", "overflows"}));
}

TEST_F(SafetensorsTest, TrailingBytes) {
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 5,
                      {"data section is 5 bytes, expected 4", "trailing"}));
}

TEST_F(SafetensorsTest, DuplicateNames) {
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                          "t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                      8, {"duplicate tensor 't'"}));
  EXPECT_TRUE(rejects(R"({"t": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}})", 4,
                      {"duplicate key 'dtype'"}));
}

TEST_F(SafetensorsTest, BadMetadata) {
  EXPECT_TRUE(rejects(R"({"__metadata__": {"format": 1}})", 0, {"__metadata__", "'format'", "expected a string"}));
  EXPECT_TRUE(rejects(R"({"__metadata__": ["pt"]})", 0, {"__metadata__", "expected an object"}));
}

// --- Reading valid files --------------------------------------------------------------------

TEST_F(SafetensorsTest, AccessorsAndPaddedHeader) {
  const std::string header =
      R"({"__metadata__": {"format": "pt"}, "b": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},)"
      R"( "a": {"dtype": "I64", "shape": [0, 3], "data_offsets": [4, 4]}}     )";
  const std::string p = write_file("ok.safetensors", header, f32s({2.5f}));
  const SafetensorsFile f = SafetensorsFile::open(p);
  EXPECT_EQ(f.path(), p);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(f.contains("a"));
  EXPECT_FALSE(f.contains("__metadata__"));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.info("b").dtype, DType::f32);
  EXPECT_EQ(f.info("b").shape.rank(), 0);
  EXPECT_EQ(f.to_float("b").data()[0], 2.5f);
  EXPECT_EQ(f.info("a").shape, Shape({0, 3}));
  EXPECT_EQ(f.to_int64("a").numel(), 0);
  EXPECT_TRUE(throws_with([&] { f.info("zzz"); }, {"file " + p + ": no tensor 'zzz'"}));
  EXPECT_TRUE(throws_with([&] { f.to_float("zzz"); }, {p, "no tensor 'zzz'"}));
}

TEST_F(SafetensorsTest, EmptyHeaderObject) {
  const SafetensorsFile f = SafetensorsFile::open(write_file("none.safetensors", "{}", ""));
  EXPECT_TRUE(f.names().empty());
}

TEST_F(SafetensorsTest, WrongKindOfConversion) {
  const std::string p = write_file(
      "kinds.safetensors",
      R"({"i": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]},)"
      R"( "f": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
      std::string(16, '\0'));
  const SafetensorsFile f = SafetensorsFile::open(p);
  EXPECT_TRUE(throws_with([&] { f.to_float("i"); }, {p, "tensor 'i'", "dtype I64"}));
  EXPECT_TRUE(throws_with([&] { f.to_int64("f"); }, {p, "tensor 'f'", "dtype F32"}));
  EXPECT_TRUE(throws_with([&] { f.to_float("f", Shape{3}); }, {p, "tensor 'f'", "expected shape [3], got [2]"}));
  EXPECT_EQ(f.to_float("f", Shape{2}).numel(), 2);
}

TEST_F(SafetensorsTest, HalfPrecisionWidensExactly) {
  const std::string header =
      R"({"h": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},)"
      R"( "b": {"dtype": "BF16", "shape": [3], "data_offsets": [12, 18]}})";
  const std::string data = le16s({0x3c00, 0x0001, 0x7c00, 0xc000, 0x03ff, 0xfc00}) + le16s({0x3f80, 0xc040, 0x0001});
  const SafetensorsFile f = SafetensorsFile::open(write_file("half.safetensors", header, data));
  const Tensor<float> h = f.to_float("h");
  EXPECT_EQ(h.shape(), Shape({2, 3}));
  EXPECT_EQ(h(0, 0), 1.0f);
  EXPECT_EQ(h(0, 1), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(h(0, 2), std::numeric_limits<float>::infinity());
  EXPECT_EQ(h(1, 0), -2.0f);
  EXPECT_EQ(h(1, 1), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(h(1, 2), -std::numeric_limits<float>::infinity());
  const Tensor<float> b = f.to_float("b");
  EXPECT_EQ(b(0), 1.0f);
  EXPECT_EQ(b(1), -3.0f);
  EXPECT_EQ(b(2), qkv::f32_from_bits(0x00010000u));
}

TEST_F(SafetensorsTest, F64NarrowsAndIntegersWiden) {
  std::string d64;
  for (double v : {0.1, -1e300, 1e300, 3.5}) {
    std::uint64_t u;
    std::memcpy(&u, &v, 8);
    for (int i = 0; i < 8; ++i) d64 += char((u >> (8 * i)) & 0xff);
  }
  const std::string i32 = std::string("\xff\xff\xff\xff", 4) + std::string("\x07\0\0\0", 4);
  const std::string header =
      R"({"d": {"dtype": "F64", "shape": [4], "data_offsets": [0, 32]},)"
      R"( "i": {"dtype": "I32", "shape": [2], "data_offsets": [32, 40]},)"
      R"( "u": {"dtype": "U8", "shape": [2], "data_offsets": [40, 42]},)"
      R"( "m": {"dtype": "BOOL", "shape": [2], "data_offsets": [42, 44]}})";
  const SafetensorsFile f =
      SafetensorsFile::open(write_file("wide.safetensors", header, d64 + i32 + "\xc8\x01" + std::string("\x01\0", 2)));
  const Tensor<float> d = f.to_float("d");
  EXPECT_EQ(d(0), 0.1f);
  EXPECT_EQ(d(1), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(d(2), std::numeric_limits<float>::infinity());
  EXPECT_EQ(d(3), 3.5f);
  const Tensor<std::int64_t> i = f.to_int64("i");
  EXPECT_EQ(i(0), -1);
  EXPECT_EQ(i(1), 7);
  const Tensor<std::int64_t> u = f.to_int64("u");
  EXPECT_EQ(u(0), 200);
  EXPECT_EQ(u(1), 1);
  const Tensor<std::int64_t> m = f.to_int64("m");
  EXPECT_EQ(m(0), 1);
  EXPECT_EQ(m(1), 0);
}

TEST_F(SafetensorsTest, UnalignedF32ReadsCorrectly) {
  // A 1-byte U8 tensor first puts the F32 data at an odd address.
  const std::string header =
      R"({"pad": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},)"
      R"( "x": {"dtype": "F32", "shape": [3], "data_offsets": [1, 13]},)"
      R"( "h": {"dtype": "F16", "shape": [1], "data_offsets": [13, 15]},)"
      R"( "n": {"dtype": "I64", "shape": [1], "data_offsets": [15, 23]}})";
  std::string n64;
  for (int k = 0; k < 8; ++k) n64 += char(((std::uint64_t(-5)) >> (8 * k)) & 0xff);
  const std::string p =
      write_file("odd.safetensors", header, "\x2a" + f32s({1.5f, -2.25f, 1e-30f}) + le16s({0x3c00}) + n64);
  const SafetensorsFile f = SafetensorsFile::open(p);
  EXPECT_EQ(f.info("x").begin, 1u);
  EXPECT_EQ(f.bytes(f.info("x")) - f.bytes(f.info("pad")), 1);
  const Tensor<float> x = f.to_float("x");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(x.data()) % qkv::kTensorAlignment, 0u);
  EXPECT_EQ(x(0), 1.5f);
  EXPECT_EQ(x(1), -2.25f);
  EXPECT_EQ(x(2), 1e-30f);
  EXPECT_EQ(f.to_float("h")(0), 1.0f);
  EXPECT_EQ(f.to_int64("n")(0), -5);
  EXPECT_EQ(f.to_int64("pad")(0), 42);
}

// --- Writing --------------------------------------------------------------------------------

TEST_F(SafetensorsTest, RoundTrip) {
  Tensor<float> a(Shape{3, 4});
  for (std::int64_t k = 0; k < a.numel(); ++k) a.data()[k] = float(k) * 0.5f - 1.0f;
  a(1, 2) = -std::numeric_limits<float>::infinity();
  Tensor<std::int64_t> ids(Shape{2, 3});
  for (std::int64_t k = 0; k < ids.numel(); ++k) ids.data()[k] = (k - 3) * 1'000'000'000'000LL;
  Tensor<float> scalar(Shape{}, 7.25f);

  const TensorView<const float> cols = a.view().narrow(1, 1, 2);  // [3, 2], row stride 4
  const TensorView<const std::int64_t> row = ids.view().narrow(0, 1, 1);
  const std::string p = path("rt.safetensors");
  write_safetensors(p, {{"a", a.view()}, {"cols", cols}, {"s", scalar.view()}},
                    {{"ids", ids.view()}, {"row", row}}, {{"format", "pt"}, {"note", "héllo"}});

  const SafetensorsFile f = SafetensorsFile::open(p);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "cols", "ids", "row", "s"}));
  EXPECT_EQ(f.metadata().at("note"), "héllo");
  // The header is padded so the data section starts 8-aligned, and each tensor keeps its alignment.
  const MappedFile raw = MappedFile::open(p);
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, raw.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  for (const std::string& name : f.names()) {
    const auto& t = f.info(name);
    EXPECT_EQ(t.begin % (t.dtype == DType::i64 ? 8 : 4), 0u) << name;
  }

  const Tensor<float> a2 = f.to_float("a", Shape{3, 4});
  for (std::int64_t k = 0; k < a.numel(); ++k) EXPECT_EQ(a2.data()[k], a.data()[k]) << k;
  const Tensor<float> c2 = f.to_float("cols", Shape{3, 2});
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 2; ++c) EXPECT_EQ(c2(r, c), a(r, c + 1));
  EXPECT_EQ(f.to_float("s").shape().rank(), 0);
  EXPECT_EQ(f.to_float("s").data()[0], 7.25f);
  const Tensor<std::int64_t> ids2 = f.to_int64("ids");
  EXPECT_EQ(ids2.shape(), Shape({2, 3}));
  for (std::int64_t k = 0; k < ids.numel(); ++k) EXPECT_EQ(ids2.data()[k], ids.data()[k]);
  const Tensor<std::int64_t> row2 = f.to_int64("row");
  EXPECT_EQ(row2.shape(), Shape({1, 3}));
  for (int c = 0; c < 3; ++c) EXPECT_EQ(row2(0, c), ids(1, c));
}

TEST_F(SafetensorsTest, WriteEmptyFileAndZeroSizedTensor) {
  const std::string p = path("z.safetensors");
  Tensor<float> none(Shape{0, 5});
  write_safetensors(p, {{"none", none.view()}});
  const SafetensorsFile f = SafetensorsFile::open(p);
  EXPECT_EQ(f.info("none").shape, Shape({0, 5}));
  EXPECT_EQ(f.to_float("none").numel(), 0);
  write_safetensors(p, {});
  EXPECT_TRUE(SafetensorsFile::open(p).names().empty());
}

TEST_F(SafetensorsTest, WriteErrorsNameThePath) {
  Tensor<float> t(Shape{2}, 1.0f);
  const std::string p = path("no_such_dir/out.safetensors");
  EXPECT_TRUE(throws_with([&] { write_safetensors(p, {{"t", t.view()}}); }, {p, "No such file"}));
  const std::string q = path("dup.safetensors");
  EXPECT_TRUE(throws_with([&] { write_safetensors(q, {{"t", t.view()}, {"t", t.view()}}); }, {q, "'t'"}));
  EXPECT_TRUE(throws_with([&] { write_safetensors(q, {{"__metadata__", t.view()}}); }, {q, "'__metadata__'"}));
}

// --- A real file written by the PyTorch reference scripts -----------------------------------

TEST(SafetensorsReference, SoftmaxReference) {
  const SafetensorsFile f = SafetensorsFile::open(std::string(QKV_TEST_DATA) + "/io/softmax_ref.safetensors");
  EXPECT_EQ(f.names().size(), 14u);
  EXPECT_EQ(f.info("n1.x").shape, Shape({8, 1}));
  EXPECT_EQ(f.info("n1000.x").shape, Shape({8, 1000}));
  EXPECT_EQ(f.info("n7.y_f64").dtype, DType::f64);

  const Tensor<float> n1 = f.to_float("n1.y", Shape{8, 1});
  for (int r = 0; r < 8; ++r) EXPECT_EQ(n1(r, 0), 1.0f);  // softmax over one element

  const Tensor<float> y = f.to_float("n7.y", Shape{8, 7});
  const Tensor<float> y64 = f.to_float("n7.y_f64", Shape{8, 7});
  EXPECT_FLOAT_EQ(f.to_float("n7.x")(0, 0), -2.51245379447937f);
  EXPECT_FLOAT_EQ(y(0, 6), 0.5021899938583374f);
  for (int r = 0; r < 8; ++r) {
    float sum = 0;
    for (int c = 0; c < 7; ++c) {
      sum += y(r, c);
      EXPECT_NEAR(y(r, c), y64(r, c), 1e-6f);
    }
    EXPECT_NEAR(sum, 1.0f, 1e-6f);
  }

  const Tensor<float> neg = f.to_float("allneginf.x", Shape{1, 7});
  const Tensor<float> nan = f.to_float("allneginf.y", Shape{1, 7});
  for (int c = 0; c < 7; ++c) {
    EXPECT_EQ(neg(0, c), -std::numeric_limits<float>::infinity());
    EXPECT_TRUE(std::isnan(nan(0, c)));
  }
}

}  // namespace

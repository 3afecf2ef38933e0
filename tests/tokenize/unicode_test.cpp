// utf8.hpp, byte_level.hpp and unicode.hpp against Unicode's own conformance files
// (NormalizationTest.txt, GraphemeBreakTest.txt; subsets under tests/data/tokenize/unicode/).
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "qkv/tokenize/byte_level.hpp"
#include "qkv/tokenize/unicode.hpp"
#include "qkv/tokenize/utf8.hpp"

namespace {

using namespace qkv::tokenize;

std::vector<std::string> unicode_read_lines(const std::string& name) {
  std::ifstream in(std::string(QKV_TEST_DATA) + "/tokenize/unicode/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  return lines;
}

// "0044 0307" -> UTF-8
std::string unicode_from_hex(const std::string& hex) {
  std::istringstream in(hex);
  std::string out;
  for (std::string cp; in >> cp;) append_utf8(out, static_cast<char32_t>(std::stoul(cp, nullptr, 16)));
  return out;
}

TEST(UnicodeUtf8, RoundTripsEveryCodePoint) {
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const std::string s = utf8(cp);
    std::size_t pos = 0;
    ASSERT_EQ(next_code_point(s, pos), cp);
    ASSERT_EQ(pos, s.size());
    ASSERT_EQ(to_valid_utf8(s), s);
  }
}

TEST(UnicodeUtf8, InvalidSequencesBecomeOneReplacementPerMaximalSubpart) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(to_valid_utf8("a\x80" "b"), "a" + r + "b");
  EXPECT_EQ(to_valid_utf8("\xF0\x9F\x98"), r);             // truncated 4-byte sequence: one
  EXPECT_EQ(to_valid_utf8("\xF0\x9F\x98 x"), r + " x");
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), r + r + r);     // surrogate: ED is not followed by A0
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), r + r);             // overlong
  EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(to_valid_utf8("\xE2\x82"), r);
  EXPECT_EQ(to_valid_utf8("\xFF\xFE"), r + r);
  EXPECT_EQ(to_valid_utf8("\xE2\x82\xAC"), "\xE2\x82\xAC");
  EXPECT_EQ(code_points("a\xC3\xA9\xF0\x9F\x98\x80"), (std::vector<char32_t>{'a', 0xE9, 0x1F600}));
}

TEST(UnicodeByteLevel, MapsLikeGpt2) {
  EXPECT_EQ(byte_to_unicode()[' '], "\xC4\xA0");   // Ġ
  EXPECT_EQ(byte_to_unicode()['\n'], "\xC4\x8A");  // Ċ
  EXPECT_EQ(byte_to_unicode()['a'], "a");
  EXPECT_EQ(byte_to_unicode()[0xAD], "\xC5\x83");  // soft hyphen -> U+0143
  EXPECT_EQ(byte_to_unicode()[0xFF], "\xC3\xBF");
  for (unsigned b = 0; b < 256; ++b) {
    std::size_t pos = 0;
    const char32_t cp = next_code_point(byte_to_unicode()[b], pos);
    ASSERT_EQ(unicode_to_byte(cp), b);
  }
  EXPECT_FALSE(unicode_to_byte(' ').has_value());
  EXPECT_FALSE(unicode_to_byte(0x144).has_value());
  EXPECT_FALSE(unicode_to_byte(0x1F600).has_value());
}

TEST(UnicodeProperties, CategoriesAndBertDefinitions) {
  EXPECT_TRUE(is_letter('a') && is_letter(0x4E2D) && is_letter(0x10400));
  EXPECT_FALSE(is_letter('1') || is_letter(0x301) || is_letter(0x1F600));
  EXPECT_TRUE(is_number('7') && is_number(0xB2) && is_number(0x2160) && is_number(0x0660));
  EXPECT_TRUE(is_whitespace(0x3000) && is_whitespace(0x85) && is_whitespace(0x2029) && is_whitespace('\t'));
  EXPECT_FALSE(is_whitespace(0x200B) || is_whitespace(0x180E));
  EXPECT_TRUE(is_word('_') && is_word(0x301) && is_word(0x2160) && is_word(0x200D));
  EXPECT_FALSE(is_word('-') || is_word(0xB2));
  EXPECT_TRUE(is_bert_control(0) && is_bert_control(0xAD) && is_bert_control(0xE000) && is_bert_control(0x200B));
  EXPECT_FALSE(is_bert_control('\t') || is_bert_control('\n') || is_bert_control('\r'));
  // `tokenizers`' category tables are Unicode 8.0: later Cf/Po additions are not control/punctuation.
  EXPECT_FALSE(is_bert_control(0x110CD) || is_bert_punctuation(0x2E44) || is_bert_punctuation(0x11F43));
  EXPECT_TRUE(is_bert_punctuation('$') && is_bert_punctuation('`') && is_bert_punctuation(0xA8FC));
  EXPECT_TRUE(is_bert_punctuation(0x166D));  // Po in Unicode 8.0, So today
  EXPECT_TRUE(is_chinese_char(0x4E2D) && is_chinese_char(0x2B739) && !is_chinese_char(0x31350));
  EXPECT_TRUE(is_strip_accents_mark(0x301) && is_strip_accents_mark(0x903) && is_strip_accents_mark(0x20DD));
  EXPECT_FALSE(is_strip_accents_mark(0x1ACF));  // Unicode 14: unknown to the crate
  EXPECT_EQ(general_category(0x378), GeneralCategory::Cn);
  EXPECT_EQ(general_category(0x1F600), GeneralCategory::So);
  EXPECT_EQ(general_category(0x10FFFF), GeneralCategory::Cn);
}

TEST(UnicodeNormalization, ConformanceSubset) {
  const auto lines = unicode_read_lines("normalization_test.txt");
  ASSERT_GT(lines.size(), 3000u);
  for (const auto& line : lines) {
    std::vector<std::string> c;
    std::istringstream in(line);
    for (std::string col; std::getline(in, col, ';');) c.push_back(unicode_from_hex(col));
    ASSERT_EQ(c.size(), 5u) << line;
    // UAX #15's invariants: c2 == NFC(c1..c3), c3 == NFD(c1..c3), c4 == NFKC(c1..c5), c5 == NFKD(c1..c5)
    for (int i : {0, 1, 2}) {
      ASSERT_EQ(nfc(c[i]), c[1]) << line;
      ASSERT_EQ(nfd(c[i]), c[2]) << line;
    }
    for (int i : {0, 1, 2, 3, 4}) {
      ASSERT_EQ(nfkc(c[i]), c[3]) << line;
      ASSERT_EQ(nfkd(c[i]), c[4]) << line;
    }
  }
}

TEST(UnicodeGrapheme, ConformanceFile) {
  const auto lines = unicode_read_lines("grapheme_break_test.txt");
  ASSERT_GT(lines.size(), 500u);
  for (const auto& line : lines) {
    // "÷ 0020 × 0308 ÷ 0020 ÷": the clusters are the runs joined by ×.
    std::vector<std::string> expected;
    std::string text, cluster;
    std::istringstream in(line);
    for (std::string item; in >> item;) {
      if (item == "\xC3\xB7") {  // ÷
        if (!cluster.empty()) expected.push_back(cluster);
        cluster.clear();
      } else if (item != "\xC3\x97") {  // not ×: a code point
        const std::string cp = unicode_from_hex(item);
        cluster += cp;
        text += cp;
      }
    }
    std::vector<std::string> got;
    for (auto g : grapheme_clusters(text)) got.emplace_back(g);
    ASSERT_EQ(got, expected) << line;
  }
}

TEST(UnicodeCase, LowercaseIsPerCharacterFullMapping) {
  EXPECT_EQ(lowercase("HeLLo \xC3\x89T\xC3\x89"), "hello \xC3\xA9t\xC3\xA9");
  EXPECT_EQ(lowercase("\xC4\xB0"), "i\xCC\x87");                    // İ -> i + combining dot
  EXPECT_EQ(lowercase("\xCE\xA3\xCE\x91\xCE\xA3"), "\xCF\x83\xCE\xB1\xCF\x83");  // ΣΑΣ: no final sigma
  EXPECT_EQ(lowercase("\xE1\xBA\x9E"), "\xC3\x9F");                 // ẞ -> ß
  EXPECT_EQ(lowercase("\xF0\x90\x90\x80"), "\xF0\x90\x90\xA8");     // Deseret
  EXPECT_EQ(strip_accents(nfd("\xC3\xA9l\xC3\xA8ve")), "eleve");
}

}  // namespace

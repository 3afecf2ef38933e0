// The attention heatmap writer: well-formed XML, one cell per (row, column) token pair, labels
// escaped, shading following the weights.
#include <gtest/gtest.h>

#include "../../examples/attention_svg.hpp"
#include "support/xml.hpp"

namespace {

TEST(AttentionSvg, IsWellFormedWithOneCellPerTokenPair) {
  const std::vector<std::string> columns = {"The", "ball", "<is>", "\"blue\"", "&", "</s>"};
  const std::vector<std::string> rows = {"La", "bola", "es", "azul", "l'été"};
  qkv::Tensor<float> weights({5, 6}, 0.0f);
  for (std::int64_t r = 0; r < 5; ++r) weights(r, r) = 1.0f;
  const std::string svg = qkv::cli::attention_svg(columns, rows, weights, "cross <attention> & co");
  const auto doc = qkv::test::parse_xml(svg);
  ASSERT_TRUE(doc.ok()) << doc.error << "\n" << svg;
  EXPECT_EQ(doc.elements.front().name, "svg");
  EXPECT_EQ(doc.count("rect", "cell"), 30u);
  EXPECT_EQ(doc.count("text", "column"), 6u);
  EXPECT_EQ(doc.count("text", "row"), 5u);
  std::vector<std::string> column_text, row_text;
  std::size_t dark = 0;
  for (const auto& e : doc.elements) {
    if (e.name == "text" && e.attributes.count("class") && e.attributes.at("class") == "column") column_text.push_back(e.text);
    if (e.name == "text" && e.attributes.count("class") && e.attributes.at("class") == "row") row_text.push_back(e.text);
    if (e.name == "rect" && e.attributes.at("fill") == "rgb(55,55,255)") ++dark;  // weight 1
  }
  EXPECT_EQ(column_text, columns);  // escaped on the way out, the same text on the way in
  EXPECT_EQ(row_text, rows);
  EXPECT_EQ(dark, 5u);
}

TEST(AttentionSvg, ControlCharactersDoNotBreakTheXml) {
  qkv::Tensor<float> weights({1, 1}, 0.5f);
  const auto doc = qkv::test::parse_xml(qkv::cli::attention_svg({"a\x01"}, {"\n"}, weights, "t"));
  EXPECT_TRUE(doc.ok()) << doc.error;
}

TEST(AttentionSvg, MeanOverHeads) {
  qkv::Tensor<float> probs({1, 2, 1, 2}, 0.0f);
  probs(0, 0, 0, 0) = 1.0f;
  probs(0, 1, 0, 1) = 1.0f;
  const auto mean = qkv::cli::mean_over_heads(probs);
  EXPECT_FLOAT_EQ(mean(0, 0), 0.5f);
  EXPECT_FLOAT_EQ(mean(0, 1), 0.5f);
}

TEST(AttentionSvg, LabelCountMustMatchTheWeights) {
  qkv::Tensor<float> weights({2, 2}, 0.0f);
  EXPECT_THROW(qkv::cli::attention_svg({"a"}, {"b", "c"}, weights, "t"), qkv::Error);
}

TEST(XmlReader, RejectsMalformedDocuments) {
  EXPECT_FALSE(qkv::test::parse_xml("<a><b></a></b>").ok());
  EXPECT_FALSE(qkv::test::parse_xml("<a x=1/>").ok());
  EXPECT_FALSE(qkv::test::parse_xml("<a>1 < 2</a>").ok());
  EXPECT_FALSE(qkv::test::parse_xml("<a>&nbsp;</a>").ok());
  EXPECT_FALSE(qkv::test::parse_xml("<a/><b/>").ok());
  EXPECT_FALSE(qkv::test::parse_xml("<a>\xff</a>").ok());
  EXPECT_TRUE(qkv::test::parse_xml("<?xml version=\"1.0\"?>\n<a x='1'><!-- c --><b>&amp;</b></a>\n").ok());
}

}  // namespace

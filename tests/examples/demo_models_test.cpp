// The bundled demo models (examples/models, trained by examples/models/train_demos.py) through
// the programs, text in and text out. References: the grammar's own Spanish for the held-out
// sentences, and what the PyTorch models that were exported produced (tests/data/demos).
#include <cmath>

#include <nlohmann/json.hpp>

#include "support/run_program.hpp"
#include "support/xml.hpp"

namespace qkv {
namespace {

nlohmann::json demo_json(const std::string& name) {
  return nlohmann::json::parse(test::read_file(test::data_path("demos/" + name)));
}

std::string demo_ids(const nlohmann::json& ids, const char* separator = " ") {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : separator) + std::to_string(id.get<int>());
  return out;
}

const std::string kEnEs = "--model examples/models/en-es";

TEST(DemoEnEs, TranslatesTheBallIsBlue) {
  const auto r = test::run_example("qkv-translate", kEnEs + " 'The ball is blue'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "La bola es azul\n");
}

TEST(DemoEnEs, HeldOutSentencesTranslateAsTheGrammarAndTorchSay) {
  std::vector<std::string> english, spanish;
  for (const auto& line : test::output_lines(test::read_file(test::data_path("demos/en_es_heldout.tsv")))) {
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    english.push_back(line.substr(0, tab));
    spanish.push_back(line.substr(tab + 1));
  }
  ASSERT_EQ(english.size(), 200u);
  std::string input;
  for (const auto& s : english) input += s + "\n";
  const auto r = test::run_example("qkv-translate", kEnEs, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = test::output_lines(r.out);
  ASSERT_EQ(got.size(), english.size());
  const auto torch = demo_json("en_es_torch.json").at("sentences");
  std::size_t exact = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    exact += got[i] == spanish[i];
    EXPECT_EQ(got[i], torch[i].at("output_text").get<std::string>()) << english[i];  // the model, run by torch
  }
  EXPECT_GE(exact, 190u) << "at least 95% of the held-out sentences translate exactly";
}

TEST(DemoEnEs, TokenIdsMatchTheTrainingTokenizationAndTorchGeneration) {
  const auto torch = demo_json("en_es_torch.json").at("sentences");
  std::string input, want_ids;
  for (const auto& s : torch) {
    input += s.at("english").get<std::string>() + "\n";
    want_ids += demo_ids(s.at("input_ids")) + "\n";
  }
  EXPECT_EQ(test::run_example("qkv-tokenize", kEnEs, input).out, want_ids);
  for (std::size_t i = 0; i < 8; ++i) {
    const auto r = test::run_example("qkv-translate", kEnEs + " --print-ids --ids " + demo_ids(torch[i].at("input_ids"), ","));
    EXPECT_EQ(r.out, demo_ids(torch[i].at("output_ids")) + "\n") << torch[i].at("english");
  }
}

TEST(DemoEnEs, AttentionSvgHasOneCellPerSourceAndGeneratedTokenPair) {
  const test::TempDir dir;
  const std::string svg = dir.path() + "/attention.svg";
  const auto r = test::run_example("qkv-translate", kEnEs + " --attention-svg '" + svg + "' 'The ball is blue'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = test::parse_xml(test::read_file(svg));
  ASSERT_TRUE(doc.ok()) << doc.error;
  std::vector<std::string> columns, rows;
  for (const auto& e : doc.elements) {
    if (e.name != "text" || !e.attributes.count("class")) continue;
    (e.attributes.at("class") == "column" ? columns : rows).push_back(e.text);
  }
  EXPECT_EQ(columns, (std::vector<std::string>{"The", "ball", "is", "blue", "</s>"}));
  EXPECT_EQ(rows, (std::vector<std::string>{"La", "bola", "es", "azul", "</s>"}));
  EXPECT_EQ(doc.count("rect", "cell"), columns.size() * rows.size());
}

TEST(DemoTinyLm, GreedyContinuationsMatchTorch) {
  const auto torch = demo_json("tiny_lm_torch.json");
  for (const auto& p : torch.at("prompts")) {
    const std::string prompt = p.at("prompt").get<std::string>();
    const std::string flags = "--model examples/models/tiny-lm --greedy --max-new-tokens " +
                              std::to_string(torch.at("max_new_tokens").get<int>()) + " --prompt '" + prompt + "'";
    const auto ids = test::run_example("qkv-generate", flags + " --print-ids");
    ASSERT_EQ(ids.exit_code, 0) << ids.err;
    EXPECT_EQ(ids.out, demo_ids(p.at("output_ids")) + "\n") << prompt;
    const auto text = test::run_example("qkv-generate", flags);
    EXPECT_EQ(text.out, prompt + p.at("output_text").get<std::string>() + "\n") << prompt;
    EXPECT_TRUE(p.at("grammatical").get<bool>()) << prompt;
  }
}

TEST(DemoLangId, ClassifiesLikeTorch) {
  const auto torch = demo_json("lang_id_torch.json").at("sentences");
  std::string input;
  for (const auto& s : torch) input += s.at("text").get<std::string>() + "\n";
  const auto r = test::run_example("qkv-embed", "--model examples/models/lang-id --classify", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = test::output_lines(r.out);
  ASSERT_EQ(got.size(), torch.size());
  std::size_t right = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto line = nlohmann::json::parse(got[i]);
    const std::string label = line.at("label").get<std::string>();
    EXPECT_EQ(label, torch[i].at("label").get<std::string>()) << torch[i].at("text");
    right += label == torch[i].at("expected").get<std::string>();
    const auto logits = torch[i].at("logits").get<std::vector<double>>();
    const double p1 = 1.0 / (1.0 + std::exp(logits[0] - logits[1]));  // softmax of two logits
    EXPECT_NEAR(line.at("probabilities")[1].get<double>(), p1, 1e-5) << torch[i].at("text");
  }
  EXPECT_EQ(right, got.size()) << "every held-out sentence's language";
}

TEST(DemoLangId, SelfAttentionSvgIsSquare) {
  const test::TempDir dir;
  const std::string svg = dir.path() + "/attention.svg";
  const auto r =
      test::run_example("qkv-embed", "--model examples/models/lang-id --attention-svg '" + svg + "' 'El perro come'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = test::parse_xml(test::read_file(svg));
  ASSERT_TRUE(doc.ok()) << doc.error;
  EXPECT_EQ(doc.count("text", "column"), 5u);  // [CLS] el perro come [SEP]
  EXPECT_EQ(doc.count("rect", "cell"), 25u);
}

}  // namespace
}  // namespace qkv

// Decoding with a KV cache (DecoderModel::step, EncoderDecoderModel::start/step) must give the
// logits transformers computes for the full sequence at every position: fed one token at a time,
// the cache has to hold exactly what a full forward pass would recompute.
#include "qkv/models/hf/load.hpp"
#include "support/reference.hpp"

namespace qkv {
namespace {

// Column t of ids [B, L] as [B, 1].
Tensor<std::int64_t> column(const Tensor<std::int64_t>& ids, std::int64_t t) {
  Tensor<std::int64_t> c({ids.dim(0), 1});
  for (std::int64_t b = 0; b < ids.dim(0); ++b) c(b, 0) = ids(b, t);
  return c;
}

class DecoderSteps : public ::testing::TestWithParam<const char*> {};

TEST_P(DecoderSteps, OneTokenAtATimeMatchesTransformersAtEveryPosition) {
  const std::string name = GetParam();
  const auto model = std::get<DecoderModel>(load(test::data_path("hf/" + name)));
  const auto inputs = test::open_data("hf/" + name + "/inputs.safetensors");
  const auto expected = test::open_data("hf/" + name + "/expected.safetensors");
  const Tensor<std::int64_t> ids = inputs.to_int64("single.input_ids");
  const Tensor<float> logits = expected.to_float("single.logits");  // [1, L, V]
  const std::int64_t length = ids.dim(1), vocab = logits.dim(2);
  DecoderState state = model.start(1, 4);  // small on purpose: the cache must grow
  for (std::int64_t t = 0; t < length; ++t) {
    const Tensor<float> step = model.step(state, column(ids, t));
    test::expect_close(step.view().reshape({vocab}), logits.view().select(0).select(t), test::float32_reference_rtol(1e-5),
                       name + " step " + std::to_string(t));
  }
  // A prompt in one step, then one more token, ends at the same logits.
  DecoderState prefill = model.start(1, length);
  model.step(prefill, ids.view().narrow(1, 0, length - 1));
  const Tensor<float> last = model.step(prefill, column(ids, length - 1));
  test::expect_close(last.view().reshape({vocab}), logits.view().select(0).select(length - 1), test::float32_reference_rtol(1e-5), name + " prefill");
}

INSTANTIATE_TEST_SUITE_P(Hf, DecoderSteps, ::testing::Values("gpt2_a", "llama_a", "llama_gqa"));

TEST(DecoderSteps, LeftPaddedPromptsMatchTheirUnpaddedRuns) {
  // Row 1 of genbatch is 6 pads then 7 tokens; with HF's position ids (cumsum(mask) - 1) its last
  // logits must equal the 7 tokens run alone.
  const auto model = std::get<DecoderModel>(load(test::data_path("hf/gpt2_a")));
  const auto inputs = test::open_data("hf/gpt2_a/inputs.safetensors");
  const Tensor<std::int64_t> ids = inputs.to_int64("genbatch.input_ids"), mask = inputs.to_int64("genbatch.attention_mask");
  Tensor<std::int64_t> positions(ids.shape());
  for (std::int64_t b = 0; b < ids.dim(0); ++b)
    for (std::int64_t t = 0, seen = 0; t < ids.dim(1); ++t) {
      seen += mask(b, t);
      positions(b, t) = mask(b, t) ? seen - 1 : 1;  // HF GPT2 prepare_inputs_for_generation
    }
  DecoderState state = model.start(2, 16);
  const Tensor<float> batch = model.step(state, ids, mask, positions);
  std::int64_t pads = 0;
  while (mask(1, pads) == 0) ++pads;
  DecoderState alone_state = model.start(1, 16);
  const Tensor<float> alone = model.step(alone_state, ids.view().select(1).narrow(0, pads, ids.dim(1) - pads).reshape({1, ids.dim(1) - pads}));
  test::expect_close(batch.view().select(1), alone.view().select(0), 1e-5, "left-padded row vs alone");
}

class Seq2SeqSteps : public ::testing::TestWithParam<const char*> {};

TEST_P(Seq2SeqSteps, OneTokenAtATimeMatchesTransformersAtEveryPosition) {
  const std::string name = GetParam();
  const double rtol = name == "t5_a" ? 1e-4 : 1e-5;
  const auto model = std::get<EncoderDecoderModel>(load(test::data_path("hf/" + name)));
  const auto inputs = test::open_data("hf/" + name + "/inputs.safetensors");
  const auto expected = test::open_data("hf/" + name + "/expected.safetensors");
  for (const std::string group : {"single", "batch"}) {  // batch: right-padded source
    const Tensor<std::int64_t> ids = inputs.to_int64(group + ".input_ids"), mask = inputs.to_int64(group + ".attention_mask");
    const Tensor<std::int64_t> dec = inputs.to_int64(group + ".decoder_input_ids");
    const Tensor<float> logits = expected.to_float(group + ".logits");  // [B, 5, V]
    Seq2SeqState state = model.start(ids, mask, 2);
    for (std::int64_t t = 0; t < dec.dim(1); ++t) {
      const Tensor<float> step = model.step(state, column(dec, t));
      for (std::int64_t b = 0; b < dec.dim(0); ++b)
        test::expect_close(step.view().select(b), logits.view().select(b).select(t), test::float32_reference_rtol(rtol),
                           name + " " + group + " row " + std::to_string(b) + " step " + std::to_string(t));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Hf, Seq2SeqSteps, ::testing::Values("t5_a", "bart_a", "marian_a"));

}  // namespace
}  // namespace qkv

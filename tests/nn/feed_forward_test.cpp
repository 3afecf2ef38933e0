#include "qkv/nn/feed_forward.hpp"

#include "support/reference.hpp"

namespace qkv {
namespace {

// fixtures/nn_feed_forward.safetensors: down(act(up x)) and down(act(gate x) * up x), float64.
TEST(FeedForward, PlainAndGatedMatchReference) {
  const auto file = test::open_data("fixtures/nn_feed_forward.safetensors");
  const Tensor<float> x = file.to_float("x");
  WeightStore w(test::open_data("fixtures/nn_feed_forward.safetensors"));
  const std::pair<Activation, const char*> acts[] = {
      {Activation::relu, "relu"}, {Activation::gelu_erf, "gelu"}, {Activation::gelu_tanh, "gelu_tanh"}, {Activation::silu, "silu"}};
  test::for_each_isa([&](Isa) {
    for (const auto& [act, name] : acts) {
      const std::string plain = std::string("plain_") + name + ".", gated = std::string("gated_") + name + ".";
      nn::FeedForward ffn;
      ffn.activation = act;
      ffn.up = {w.get(plain + "up.weight", {37, 32}), w.get(plain + "up.bias", {37})};
      ffn.down = {w.get(plain + "down.weight", {32, 37}), w.get(plain + "down.bias", {32})};
      Tensor<float> y({2, 7, 32});
      ffn.forward(x, y);
      test::expect_close(y, file.to_float(plain + "y"), 1e-5, "feed-forward " + plain);

      nn::FeedForward glu;
      glu.activation = act;
      glu.gate = {w.get(gated + "gate.weight", {37, 32}), {}};
      glu.up = {w.get(gated + "up.weight", {37, 32}), {}};
      glu.down = {w.get(gated + "down.weight", {32, 37}), {}};
      glu.forward(x, y);
      test::expect_close(y, file.to_float(gated + "y"), 1e-5, "feed-forward " + gated);
    }
  });
}

}  // namespace
}  // namespace qkv

#pragma once
// Rotary position embedding as Hugging Face configures it: the inverse frequencies
// inv_freq[i] = 1 / rope_theta^(2i / dim), what config.json's "rope_scaling" does to them
// (transformers' modeling_rope_utils: _compute_{default,linear_scaling,dynamic_ntk,llama3,yarn}_parameters)
// and the factor YaRN multiplies cos/sin by. nn::MultiHeadAttention applies it to the projected
// queries and keys of every head, at explicit positions.
//
// The float32 steps follow the order torch evaluates HF's expressions in, so the tables agree
// with HF's to about an ulp: a table entry enters angles as position * inv_freq, where a relative
// error of 1e-6 is already 4e-3 rad at position 4096.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "qkv/core/workspace.hpp"
#include "qkv/ops/rotary.hpp"

namespace qkv::nn {

enum class RopeType { none, linear, dynamic, llama3, yarn };

inline const char* rope_type_name(RopeType t) {
  switch (t) {
    case RopeType::none: return "default";
    case RopeType::linear: return "linear";
    case RopeType::dynamic: return "dynamic";
    case RopeType::llama3: return "llama3";
    case RopeType::yarn: return "yarn";
  }
  return "?";
}

// config.json's "rope_scaling". Each type reads only its own fields.
struct RopeScaling {
  RopeType type = RopeType::none;
  double factor = 1.0;                      // linear, dynamic, llama3, yarn
  std::int64_t original_max_positions = 0;  // llama3 (required); yarn (0 = max_position_embeddings)
  double low_freq_factor = 1.0;             // llama3
  double high_freq_factor = 4.0;            // llama3
  double beta_fast = 32.0, beta_slow = 1.0;  // yarn; 0 means the default (HF: `get("beta_fast") or 32`)
  std::optional<double> attention_factor;   // yarn; unset = derived from factor, mscale, mscale_all_dim
  double mscale = 0.0, mscale_all_dim = 0.0;  // yarn (DeepSeek); 0 = unset
  bool truncate = true;                     // yarn: widen the ramp to whole dimensions
};

namespace detail {
inline constexpr double kPi = 3.141592653589793;  // Python's math.pi

// HF: `1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))`. torch rounds the base to float32,
// divides in float32 and takes a float32 reciprocal; pow is evaluated in double and rounded.
inline float rope_pos_freq(double base, std::int64_t i, std::int64_t dim) {
  const float exponent = float(2 * i) / float(dim);
  return float(std::pow(double(float(base)), double(exponent)));
}
inline std::vector<float> default_inv_freq(double base, std::int64_t dim) {
  std::vector<float> inv(std::size_t(dim / 2));
  for (std::size_t i = 0; i < inv.size(); ++i) inv[i] = 1.0f / rope_pos_freq(base, std::int64_t(i), dim);
  return inv;
}
}  // namespace detail

struct RotaryEmbedding {
  std::vector<float> inv_freq;    // [rotary_dim / 2], scaling applied; empty = no rotary embedding
  float attention_factor = 1.0f;  // multiplies cos and sin (YaRN)
  // Dynamic NTK scaling recomputes inv_freq from these once positions pass max_positions.
  RopeType type = RopeType::none;
  double theta = 10000.0, factor = 1.0;
  std::int64_t max_positions = 0;

  bool empty() const { return inv_freq.empty(); }
  std::int64_t rotary_dim() const { return 2 * std::int64_t(inv_freq.size()); }

  // The embedding for heads of `dim` features (all rotated), base theta, and the model's
  // max_position_embeddings. Throws qkv::Error naming a bad parameter.
  static RotaryEmbedding make(std::int64_t dim, double theta, std::int64_t max_position_embeddings,
                              const RopeScaling& s = {}) {
    if (dim <= 0 || dim % 2 != 0) fail("rotary embedding: the rotated dimension must be even and positive, got ", dim);
    if (!(theta > 0.0) || !std::isfinite(theta)) fail("rotary embedding: rope_theta must be positive, got ", theta);
    const char* type = rope_type_name(s.type);
    if (s.type != RopeType::none && !(s.factor > 0.0 && std::isfinite(s.factor)))
      fail("rope_scaling (", type, "): factor must be positive, got ", s.factor);
    if ((s.type == RopeType::dynamic || s.type == RopeType::yarn) && max_position_embeddings <= 0 &&
        !(s.type == RopeType::yarn && s.original_max_positions > 0))
      fail("rope_scaling (", type, "): needs max_position_embeddings > 0, got ", max_position_embeddings);

    RotaryEmbedding r;
    r.type = s.type, r.theta = theta, r.factor = s.factor, r.max_positions = max_position_embeddings;
    r.inv_freq = detail::default_inv_freq(theta, dim);
    switch (s.type) {
      case RopeType::none:
      case RopeType::dynamic:  // equal to the default up to max_position_embeddings: see frequencies()
        break;
      case RopeType::linear:  // _compute_linear_scaling_rope_parameters: inv_freq /= factor
        for (float& f : r.inv_freq) f /= float(s.factor);
        break;
      case RopeType::llama3: r.inv_freq = llama3(r.inv_freq, s); break;
      case RopeType::yarn: r = yarn(r, dim, max_position_embeddings, s); break;
    }
    return r;
  }

  // The inverse frequencies for a forward pass whose largest position is seq_len - 1. Only dynamic
  // NTK depends on it (_compute_dynamic_ntk_parameters with HF's seq_len = max(position_ids) + 1):
  // base = theta * (factor * seq_len / max_pos - (factor - 1)) ^ (dim / (dim - 2)). HF caches the
  // largest table it has seen; this is stateless, so equal inputs always give equal outputs.
  std::vector<float> frequencies(std::int64_t seq_len) const {
    if (type != RopeType::dynamic || seq_len <= max_positions) return inv_freq;
    return detail::default_inv_freq(dynamic_base(seq_len), rotary_dim());
  }

  // Dynamic NTK's base for sequences of seq_len > max_positions (see frequencies()).
  double dynamic_base(std::int64_t seq_len) const {
    const double dim = double(rotary_dim());
    return theta * std::pow(factor * double(seq_len) / double(max_positions) - (factor - 1.0), dim / (dim - 2.0));
  }

  // Rotates every head of q [B, L, Hq * head_dim] and k [B, L, Hk * head_dim] in place: the token
  // at [b, t] is at position positions(b, t) ([B, L]), or t when positions is empty.
  void forward(TensorView<float> q, TensorView<float> k, std::int64_t head_dim,
               TensorView<const std::int64_t> positions) const {
    if (q.rank() != 3 || k.rank() != 3 || k.dim(0) != q.dim(0) || k.dim(1) != q.dim(1) || head_dim <= 0 ||
        q.dim(2) % head_dim != 0 || k.dim(2) % head_dim != 0)
      fail("rotary embedding: queries ", q.shape(), " and keys ", k.shape(), " must be [B, L, heads * ", head_dim, "]");
    if (rotary_dim() > head_dim) fail("rotary embedding: rotates ", rotary_dim(), " features of heads of ", head_dim);
    const std::int64_t batch = q.dim(0), length = q.dim(1), n = rotary_dim() / 2;
    Workspace::Scope scratch(current_workspace());
    if (positions.empty()) {
      const auto default_positions = scratch.take<std::int64_t>({batch, length});
      for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t t = 0; t < length; ++t) default_positions(b, t) = t;
      positions = default_positions;
    }
    expect_shape(positions, {batch, length}, "position_ids");
    std::int64_t last = 0;
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t t = 0; t < length; ++t) {
        if (positions(b, t) < 0) fail("position_ids[", b, ", ", t, "] is ", positions(b, t), ", expected >= 0");
        last = std::max(last, positions(b, t));
      }
    TensorView<const float> inv(inv_freq.data(), {n});
    if (type == RopeType::dynamic && last + 1 > max_positions) {  // what frequencies() returns, without a vector
      const auto dynamic = scratch.take<float>({n});
      const double base = dynamic_base(last + 1);
      for (std::int64_t i = 0; i < n; ++i) dynamic(i) = 1.0f / detail::rope_pos_freq(base, i, rotary_dim());
      inv = dynamic;
    }
    const auto cos = scratch.take<float>({length, n}), sin = scratch.take<float>({length, n});
    for (std::int64_t b = 0; b < batch; ++b) {
      ops::rotary_tables(positions.select(b), inv, attention_factor, cos, sin);  // shared by all heads
      for (std::int64_t h = 0; h < q.dim(2) / head_dim; ++h)
        ops::apply_rotary(q.select(b).narrow(1, h * head_dim, head_dim), cos, sin);
      for (std::int64_t h = 0; h < k.dim(2) / head_dim; ++h)
        ops::apply_rotary(k.select(b).narrow(1, h * head_dim, head_dim), cos, sin);
    }
  }

 private:
  // _compute_llama3_parameters (Llama 3.1): wavelengths above original/low_freq_factor are
  // interpolated (inv_freq / factor), below original/high_freq_factor kept, and in between blended.
  static std::vector<float> llama3(std::vector<float> inv, const RopeScaling& s) {
    if (s.original_max_positions <= 0)
      fail("rope_scaling (llama3): original_max_position_embeddings must be positive, got ", s.original_max_positions);
    if (!(s.low_freq_factor > 0.0) || !(s.high_freq_factor > s.low_freq_factor))
      fail("rope_scaling (llama3): need 0 < low_freq_factor < high_freq_factor, got ", s.low_freq_factor, " and ",
           s.high_freq_factor);
    const double old_context = double(s.original_max_positions);
    const float low_wavelen = float(old_context / s.low_freq_factor), high_wavelen = float(old_context / s.high_freq_factor);
    const float factor = float(s.factor), two_pi = float(2.0 * detail::kPi);
    for (float& f : inv) {
      const float wavelen = (1.0f / f) * two_pi;  // torch's `2 * math.pi / t` is t.reciprocal() * (2 * pi)
      const float scaled = wavelen > low_wavelen ? f / factor : f;
      const float smooth = ((1.0f / wavelen) * float(old_context) - float(s.low_freq_factor)) /
                           float(s.high_freq_factor - s.low_freq_factor);
      const float smoothed = (1.0f - smooth) * scaled / factor + smooth * scaled;
      const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
      f = medium ? smoothed : scaled;
    }
    return inv;
  }

  // _compute_yarn_parameters (YaRN, arXiv:2309.00071): dimensions that turn fewer than beta_slow
  // times over the original context are interpolated, more than beta_fast times extrapolated, with
  // a linear ramp between; cos/sin are scaled by 0.1 ln(factor) + 1 unless attention_factor is set.
  static RotaryEmbedding yarn(RotaryEmbedding r, std::int64_t dim, std::int64_t max_position_embeddings, const RopeScaling& s) {
    const double factor = s.factor;
    const double original = double(s.original_max_positions > 0 ? s.original_max_positions : max_position_embeddings);
    auto get_mscale = [factor](double m) { return factor <= 1.0 ? 1.0 : 0.1 * m * std::log(factor) + 1.0; };
    double attention = 0.0;
    if (s.attention_factor)
      attention = *s.attention_factor;
    else if (s.mscale != 0.0 && s.mscale_all_dim != 0.0)
      attention = get_mscale(s.mscale) / get_mscale(s.mscale_all_dim);
    else
      attention = get_mscale(1.0);
    if (!(attention > 0.0) || !std::isfinite(attention))
      fail("rope_scaling (yarn): attention_factor must be positive, got ", attention);
    r.attention_factor = float(attention);

    const double beta_fast = s.beta_fast != 0.0 ? s.beta_fast : 32.0, beta_slow = s.beta_slow != 0.0 ? s.beta_slow : 1.0;
    auto correction_dim = [&](double rotations) {
      return (double(dim) * std::log(original / (rotations * 2.0 * detail::kPi))) / (2.0 * std::log(r.theta));
    };
    double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
    if (s.truncate) low = std::floor(low), high = std::ceil(high);
    low = std::max(low, 0.0), high = std::min(high, double(dim - 1));
    if (low == high) high += 0.001;  // HF: "Prevent singularity"
    for (std::size_t i = 0; i < r.inv_freq.size(); ++i) {
      const float ramp = std::clamp((float(i) - float(low)) / float(high - low), 0.0f, 1.0f);
      const float extrapolation = 1.0f - ramp;
      const float pos_freq = detail::rope_pos_freq(r.theta, std::int64_t(i), dim);
      const float inv_extrapolation = 1.0f / pos_freq, inv_interpolation = 1.0f / (float(factor) * pos_freq);
      r.inv_freq[i] = inv_interpolation * (1.0f - extrapolation) + inv_extrapolation * extrapolation;
    }
    return r;
  }
};

}  // namespace qkv::nn

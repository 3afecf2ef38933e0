#pragma once
// A heatmap of attention weights as a plain SVG file, the picture articles that explain
// transformers draw: one square per (row token, column token) pair, darker = more attention,
// tokens written as text along the top (columns, rotated) and the left side (rows).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "qkv/core/error.hpp"
#include "qkv/core/tensor.hpp"

namespace qkv::cli {

// Text as SVG character data or an attribute value: the five XML specials escaped, control
// characters (not allowed in XML 1.0) shown as U+FFFD.
inline std::string xml_escaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += "\xEF\xBF\xBD";
        else out += c;
    }
  }
  return out;
}

// The mean over heads of one sequence's attention probabilities: probs [B, H, Lq, Lk] -> [Lq, Lk].
inline Tensor<float> mean_over_heads(const Tensor<float>& probs, std::int64_t sequence = 0) {
  const std::int64_t heads = probs.dim(1), rows = probs.dim(2), cols = probs.dim(3);
  Tensor<float> mean({rows, cols}, 0.0f);
  for (std::int64_t h = 0; h < heads; ++h)
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) mean(r, c) += probs(sequence, h, r, c) / float(heads);
  return mean;
}

// weights [rows.size(), columns.size()], values in [0, 1].
inline std::string attention_svg(const std::vector<std::string>& columns, const std::vector<std::string>& rows,
                                 const Tensor<float>& weights, const std::string& title) {
  if (weights.rank() != 2 || weights.dim(0) != std::int64_t(rows.size()) || weights.dim(1) != std::int64_t(columns.size()))
    fail("attention heatmap: ", rows.size(), " row and ", columns.size(), " column labels for weights of another shape");
  const int cell = 28, char_width = 8;
  auto longest = [](const std::vector<std::string>& labels) {
    std::size_t n = 4;
    for (const auto& s : labels) n = std::max(n, s.size());
    return int(std::min<std::size_t>(n, 24));
  };
  const int left = 12 + char_width * longest(rows), top = 40 + char_width * longest(columns);
  const int width = std::max(left + cell * int(columns.size()) + 12, 24 + char_width * int(title.size()));
  const int height = top + cell * int(rows.size()) + 12;
  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
         std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"13\">\n";
  svg += "<title>" + xml_escaped(title) + "</title>\n";
  svg += "<text x=\"12\" y=\"20\" font-weight=\"bold\">" + xml_escaped(title) + "</text>\n";
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const int x = left + cell * int(c) + cell / 2 + 4, y = top - 6;
    svg += "<text class=\"column\" x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) + "\" transform=\"rotate(-60 " +
           std::to_string(x) + " " + std::to_string(y) + ")\">" + xml_escaped(columns[c]) + "</text>\n";
  }
  char number[32];
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const int y = top + cell * int(r);
    svg += "<text class=\"row\" x=\"" + std::to_string(left - 6) + "\" y=\"" + std::to_string(y + cell / 2 + 5) +
           "\" text-anchor=\"end\">" + xml_escaped(rows[r]) + "</text>\n";
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const float w = std::clamp(weights(std::int64_t(r), std::int64_t(c)), 0.0f, 1.0f);
      const int shade = int(255.0f - 200.0f * w + 0.5f);  // white (0) to dark blue (1)
      std::snprintf(number, sizeof number, "%.4f", double(w));
      svg += "<rect class=\"cell\" x=\"" + std::to_string(left + cell * int(c)) + "\" y=\"" + std::to_string(y) +
             "\" width=\"" + std::to_string(cell) + "\" height=\"" + std::to_string(cell) + "\" fill=\"rgb(" +
             std::to_string(shade) + "," + std::to_string(shade) + ",255)\"><title>" + xml_escaped(rows[r]) + " → " +
             xml_escaped(columns[c]) + ": " + number + "</title></rect>\n";
    }
  }
  svg += "</svg>\n";
  return svg;
}

inline void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) fail("cannot open ", path, " for writing");
  out << text;
  if (!out.flush()) fail("cannot write ", path);
}

}  // namespace qkv::cli

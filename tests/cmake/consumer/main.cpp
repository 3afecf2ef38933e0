// Uses the public headers the way a user's program would; exits non-zero on a wrong answer.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "qkv/core/tensor.hpp"
#include "qkv/kernels/dispatch.hpp"
#include "qkv/ops/linear.hpp"
#include "qkv/ops/softmax.hpp"

namespace {

bool near(float got, double want, const char* what) {
  if (std::fabs(double(got) - want) <= 1e-5) return true;
  std::fprintf(stderr, "%s: got %.7f, expected %.7f\n", what, double(got), want);
  return false;
}

}  // namespace

int main() {
  std::cout << "qkv ISA: " << qkv::isa_name(qkv::active_isa()) << "\n";
  bool ok = true;

  // softmax([1, 2, 3]) = exp(x - 3) / sum; softmax([0, 0, 0]) = 1/3 each.
  qkv::Tensor<float> s({2, 3});
  s(0, 0) = 1.0f, s(0, 1) = 2.0f, s(0, 2) = 3.0f;
  qkv::ops::softmax(s);
  const double sum = std::exp(-2.0) + std::exp(-1.0) + 1.0;
  ok &= near(s(0, 0), std::exp(-2.0) / sum, "softmax[0][0]");
  ok &= near(s(0, 1), std::exp(-1.0) / sum, "softmax[0][1]");
  ok &= near(s(0, 2), 1.0 / sum, "softmax[0][2]");
  for (int j = 0; j < 3; ++j) ok &= near(s(1, j), 1.0 / 3.0, "softmax[1][j]");

  // y = x W^T + b with x = [[1, 2, 3]], W = [[1, 0, -1], [0.5, 0.5, 0.5]], b = [10, -1]:
  // y = [1 - 3 + 10, 3 - 1] = [8, 2].
  qkv::Tensor<float> x({1, 3}), w({2, 3}), b({2}), y({1, 2});
  x(0, 0) = 1.0f, x(0, 1) = 2.0f, x(0, 2) = 3.0f;
  w(0, 0) = 1.0f, w(0, 1) = 0.0f, w(0, 2) = -1.0f;
  w(1, 0) = 0.5f, w(1, 1) = 0.5f, w(1, 2) = 0.5f;
  b(0) = 10.0f, b(1) = -1.0f;
  qkv::ops::linear(x, w, b, y);
  ok &= near(y(0, 0), 8.0, "linear[0]");
  ok &= near(y(0, 1), 2.0, "linear[1]");

  std::cout << (ok ? "consumer: OK\n" : "consumer: WRONG RESULTS\n");
  return ok ? 0 : 1;
}

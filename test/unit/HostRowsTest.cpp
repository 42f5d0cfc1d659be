//===- HostRowsTest.cpp - Host row copies against LibTorch's index ops ----===//

#include "HostRows.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace {

torch::Tensor longs(std::vector<int64_t> v) {
  return torch::tensor(v, torch::kInt64);
}

TEST(HostRows, FlagsAsLibTorchReadsThem) {
  for (std::vector<bool> f : std::vector<std::vector<bool>>{
           {}, {true}, {false}, {true, false, true, false, false}}) {
    torch::Tensor flags = torch::empty({int64_t(f.size())}, torch::kBool);
    for (size_t i = 0; i < f.size(); ++i)
      flags[i] = bool(f[i]);
    EXPECT_EQ(gfl::allSet(flags), flags.all().item<bool>());
    torch::Tensor want = flags.logical_not().nonzero().reshape({-1});
    EXPECT_TRUE(torch::equal(gfl::unsetIndices(flags), want));
    // A strided view goes through LibTorch's ops.
    torch::Tensor strided = torch::stack({flags, flags}, 1).select(1, 0);
    EXPECT_EQ(gfl::allSet(strided), flags.all().item<bool>());
    EXPECT_TRUE(torch::equal(gfl::unsetIndices(strided), want));
  }
}

/// Every dtype and row shape the rollout selects and scatters (features,
/// conditions, states, logits), repeated and empty selections included.
TEST(HostRows, SelectAndCopyAsIndexSelectAndIndexCopy) {
  torch::manual_seed(9);
  torch::Tensor rows = longs({4, 0, 4, 2});
  for (torch::Tensor x :
       {torch::randn({5, 3}), torch::randint(0, 9, {5}, torch::kInt32),
        torch::randint(0, 9, {5, 2, 3}, torch::kInt64), torch::randn({5, 0})}) {
    SCOPED_TRACE(std::string(c10::toString(x.scalar_type())) + " rank " +
                 std::to_string(x.dim()));
    EXPECT_TRUE(
        torch::equal(gfl::selectRows(x, rows), x.index_select(0, rows)));
    EXPECT_TRUE(torch::equal(gfl::selectRows(x, longs({})),
                             x.index_select(0, longs({}))));
    torch::Tensor distinct = longs({3, 1});
    torch::Tensor src = gfl::selectRows(x, longs({0, 4}));
    torch::Tensor got = x.clone(), want = x.clone();
    gfl::copyRows(got, distinct, src);
    want.index_copy_(0, distinct, src);
    EXPECT_TRUE(torch::equal(got, want));
  }
}

TEST(HostRows, RefusesRowsOutOfRange) {
  torch::Tensor x = torch::randn({3, 2});
  EXPECT_THROW(gfl::selectRows(x, longs({1, 3})), std::out_of_range);
  EXPECT_THROW(gfl::selectRows(x, longs({-1})), std::out_of_range);
  torch::Tensor into = torch::zeros({3, 2});
  EXPECT_THROW(gfl::copyRows(into, longs({3}), torch::ones({1, 2})),
               std::out_of_range);
  // Nothing was written before the bad row was found.
  EXPECT_TRUE(into.eq(0).all().item<bool>());
}

/// Tensors in a graph keep LibTorch's ops, which autograd records.
TEST(HostRows, LeavesTensorsInAGraphToLibTorch) {
  torch::Tensor x = torch::randn({4, 3}).requires_grad_();
  torch::Tensor picked = gfl::selectRows(x, longs({2, 0}));
  ASSERT_TRUE(picked.requires_grad());
  picked.sum().backward();
  EXPECT_TRUE(
      torch::equal(x.grad().sum(1), torch::tensor({3.f, 0.f, 3.f, 0.f})));
}

} // namespace

/// Every place of a non-finite value (within the vector part and in the tail
/// past the last whole vector), each kind of it, the largest finite values,
/// an empty tensor, and a strided view (LibTorch's reduction).
TEST(HostRows, FiniteAsIsFinite) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float big = std::numeric_limits<float>::max();
  torch::Tensor zero = torch::zeros({});
  for (int64_t n : {1, 7, 8, 9, 23, 64}) {
    for (int64_t at = 0; at < n; ++at) {
      for (float bad : {inf, -inf, nan}) {
        torch::Tensor x = torch::full({n}, big);
        x[at] = bad;
        SCOPED_TRACE("n " + std::to_string(n) + " at " + std::to_string(at));
        EXPECT_FALSE(gfl::allFinite({x}));
        EXPECT_FALSE(gfl::allFinite({zero, x}));
        EXPECT_FALSE(gfl::allFinite({torch::stack({x, x}, 1).select(1, 0)}));
      }
    }
    EXPECT_TRUE(gfl::allFinite({torch::full({n}, big), -torch::full({n}, big)}));
  }
  EXPECT_TRUE(gfl::allFinite({torch::empty({0}), zero}));
  EXPECT_TRUE(gfl::allFinite({}));
  EXPECT_FALSE(gfl::allFinite({torch::full({}, nan)}));
}

/// Rows made on the host are narrow's and select's rows: the same values,
/// shapes and strides, in the same storage (a write through them lands in
/// the tensor), for every rank; elsewhere LibTorch makes them.
TEST(HostRows, RowsAsNarrowAndSelect) {
  torch::manual_seed(3);
  for (torch::Tensor x : {torch::randn({5}), torch::randn({5, 3}),
                          torch::randint(0, 9, {5, 2, 3}, torch::kInt32)}) {
    SCOPED_TRACE("rank " + std::to_string(x.dim()));
    for (auto [start, count] : {std::pair{0, 5}, {1, 3}, {4, 1}, {5, 0}}) {
      torch::Tensor rows = gfl::rowsOf(x, start, count);
      torch::Tensor want = x.narrow(0, start, count);
      EXPECT_TRUE(torch::equal(rows, want));
      EXPECT_EQ(rows.strides(), want.strides());
      EXPECT_EQ(rows.data_ptr(), want.data_ptr());
    }
    for (int64_t k = 0; k < 5; ++k) {
      torch::Tensor row = gfl::rowOf(x, k);
      EXPECT_TRUE(torch::equal(row, x.select(0, k)));
      EXPECT_EQ(row.sizes(), x.select(0, k).sizes());
      row.fill_(k + 1);
      EXPECT_TRUE(x.select(0, k).eq(k + 1).all().item<bool>());
    }
  }
  // A row of a row: offsets add up.
  torch::Tensor grid = torch::arange(24, torch::kFloat32).view({4, 3, 2});
  EXPECT_TRUE(torch::equal(gfl::rowOf(gfl::rowsOf(grid, 1, 3), 2), grid[3]));
  // Strided tensors, rows out of range and tensors in a graph: LibTorch's.
  torch::Tensor strided = grid.select(2, 1);
  EXPECT_TRUE(torch::equal(gfl::rowOf(strided, 2), strided[2]));
  EXPECT_THROW(gfl::rowsOf(grid, 3, 2), c10::Error);
  torch::Tensor w = torch::randn({3, 2}).requires_grad_();
  EXPECT_TRUE(gfl::rowOf(w, 1).requires_grad());
}

// The row loop both RoPE ops share: out = x * cos + rotate(x) * sin, one logical row of x at a
// time, with the op choosing which cos/sin row each x row takes and how a row is rotated
// (interleaved pairs through trans_mat, or rotate-half).
#pragma once
#include <cstdint>
#include <string_view>
#include <utility>

#include "attnn/error.hpp"
#include "attnn/tensor.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"

namespace attnn::detail {

// Scratch per worker: the x row, its rotation, the cos row and the sin row.
struct RopeProgram : Program {
    RopeProgram(int workers, int64_t head_dim) : scratch(workers, 4 * head_dim) {}
    WorkerScratch scratch;
};

// The checks both ops make of their tensors: one device, floating point, cos and sin alike,
// and an even head dim (rotations act on pairs).
inline DeviceImpl& check_rope_inputs(std::string_view op, const Tensor& x, const Tensor& cos,
                                     const Tensor& sin, const char* cos_name, const char* sin_name) {
    DeviceImpl& device = require_device(op, {{&x, "x"}, {&cos, cos_name}, {&sin, sin_name}});
    check_floating_point(op, "x", x.dtype());
    check_floating_point(op, cos_name, cos.dtype());
    check_floating_point(op, sin_name, sin.dtype());
    ATTNN_CHECK(cos.shape() == sin.shape(), op, cos_name, ".shape=", cos.shape(), " must equal ", sin_name,
                ".shape=", sin.shape());
    ATTNN_CHECK(x.shape().rank() >= 2, op, "x.shape=", x.shape(), " must have rank >= 2: [..., s, head_dim]");
    const uint32_t head_dim = x.shape()[-1];
    ATTNN_CHECK(head_dim % 2 == 0, op, "x.shape[-1]=", head_dim,
                " (head_dim) must be even: RoPE rotates pairs");
    ATTNN_CHECK(cos.shape().rank() == 4 && cos.shape()[-1] == head_dim, op, cos_name, ".shape=", cos.shape(),
                " must be 4-D with last dim head_dim=", head_dim);
    return device;
}

// Visits x's rows token-major (all matrices' row t, then row t + 1, ...) when every matrix
// takes the same cos/sin row per token, so consecutive rows share it and it is decoded once per
// token instead of once per row. Rows never share a face row, so any order is safe in parallel.
struct RopeRowOrder {
    int64_t matrices = 1, rows = 1;
    bool token_major = false;
    int64_t operator()(int64_t i) const { return token_major ? i % matrices * rows + i / matrices : i; }
};

// out row r = x row r * cos row + rotate(x row) * sin row, for r = order(0), order(1), ...,
// where cos_row(r) -> {matrix, row} of the cos/sin views and rotate(src, dst) writes the rotated
// row.
template <class CosRow, class Rotate>
void apply_rope_rows(DeviceImpl& device, RopeProgram& program, const MatrixView& x, const MatrixView& cos,
                     const MatrixView& sin, const MatrixView& out, RopeRowOrder order, CosRow&& cos_row,
                     Rotate&& rotate) {
    const int64_t head_dim = x.cols;
    parallel_rows(device, x.batch * x.rows, head_dim, [&](int64_t begin, int64_t end, int worker) {
        float* row = program.scratch.get(worker);
        float* rotated = row + head_dim;
        float* c = rotated + head_dim;
        float* s = c + head_dim;
        std::pair<int64_t, int64_t> loaded{-1, -1};  // the cos/sin row in c and s
        for (int64_t i = begin; i < end; ++i) {
            const int64_t r = order(i);
            read_row(x, r, row);
            const std::pair<int64_t, int64_t> wanted = cos_row(r);
            if (wanted != loaded) {
                cos.read(wanted.first, wanted.second, 0, head_dim, c);
                sin.read(wanted.first, wanted.second, 0, head_dim, s);
                loaded = wanted;
            }
            rotate(row, rotated);
            for (int64_t d = 0; d < head_dim; ++d) row[d] = row[d] * c[d] + rotated[d] * s[d];
            write_row(out, r, row);
        }
    });
}

}  // namespace attnn::detail

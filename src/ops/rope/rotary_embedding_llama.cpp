// rotary_embedding_llama: out = x * cos + (x @ trans_mat) * sin, with the 32x32 trans_mat applied
// to each 32-wide block of the head dim, as TT-NN's kernel multiplies each tile of x by the
// transformation tile (tt-metal ttnn/cpp/ttnn/operations/experimental/transformer/
// rotary_embedding_llama). The matrix is data, not a constant: whatever matrix is given is
// applied. It is read once per call into a column-sparse form, so the usual rotation matrix (one
// nonzero per column) costs one multiply per value instead of 32.
//
// Unlike TT-NN, head_dim need only be even: a last block narrower than 32 (dh = 80: 32, 32, 16)
// uses the top-left w x w corner of trans_mat, which for the interleaved rotation matrix is the
// same rotation of w values.
#include <algorithm>
#include <mutex>
#include <vector>

#include "attnn/ops/experimental.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "ops/common.hpp"
#include "ops/rope/rope_rows.hpp"

namespace attnn::experimental {

namespace {

constexpr int64_t trans_size = TILE_WIDTH;  // trans_mat is one tile

// trans_mat's nonzeros by column: column j's entries are [begin[j], begin[j + 1]) of row/value.
// Sized for a dense matrix up front, so filling it never allocates.
struct TransMatColumns {
    std::vector<int32_t> begin = std::vector<int32_t>(trans_size + 1);
    std::vector<int32_t> row = std::vector<int32_t>(trans_size * trans_size);
    std::vector<float> value = std::vector<float>(trans_size * trans_size);
};

struct RotaryEmbeddingLlamaProgram : detail::RopeProgram {
    using RopeProgram::RopeProgram;
    std::vector<float> trans = std::vector<float>(trans_size * trans_size);  // this call's trans_mat
    TransMatColumns full, corner;  // the whole matrix; the corner a narrower last block uses
};

// The sparse columns of the top-left width x width corner of trans (row-major 32 x 32).
void sparse_columns(const float* trans, int64_t width, TransMatColumns& out) {
    int32_t n = 0;
    for (int64_t j = 0; j < width; ++j) {
        out.begin[j] = n;
        for (int64_t i = 0; i < width; ++i)
            if (trans[i * trans_size + j] != 0.0f) {
                out.row[n] = int32_t(i);
                out.value[n++] = trans[i * trans_size + j];
            }
    }
    out.begin[width] = n;
}

}  // namespace

// x [b, nh, s, dh], cos/sin [1, 1 | nh, s, dh] (prefill) or x [1, b, nh, dh], cos/sin
// [1, b, 1 | nh, dh] (decode mode); trans_mat [1, 1, 32, 32] -> [b, nh, s, dh] / [1, b, nh, dh]
Tensor rotary_embedding_llama(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& trans_mat,
                              const RotaryEmbeddingLlamaOptions& options) {
    const char* name = "rotary_embedding_llama";
    detail::DeviceImpl& device = detail::check_rope_inputs(name, x, cos, sin, "cos", "sin");
    detail::require_device(name, {{&x, "x"}, {&trans_mat, "trans_mat"}});
    detail::check_floating_point(name, "trans_mat", trans_mat.dtype());
    // Decode: TT-NN's models repeat the matrix once per user ([1, 1, 32 k, 32], one tile per
    // user's shard); every copy must then be the same matrix.
    const Shape& ts = trans_mat.shape();
    const bool repeated_ok = options.is_decode_mode && ts.rank() == 4 && ts[2] % trans_size == 0 && ts[2] > 0;
    ATTNN_CHECK(ts.rank() == 4 && ts[0] == 1 && ts[1] == 1 && ts[3] == trans_size &&
                    (ts[2] == trans_size || repeated_ok),
                name, "trans_mat.shape=", ts,
                options.is_decode_mode ? " must be [1, 1, 32, 32] or, one per user, [1, 1, 32 k, 32]"
                                       : " must be [1, 1, 32, 32]");
    const Shape& shape = x.shape();
    ATTNN_CHECK(shape.rank() == 4, name, "x.shape=", shape, " must have rank 4");
    const Shape& cs = cos.shape();
    const uint32_t head_dim = shape[3];
    if (options.is_decode_mode) {
        ATTNN_CHECK(shape[0] == 1, name, "x.shape=", shape,
                    " must be [1, b, num_heads, head_dim] in decode mode");
        ATTNN_CHECK(cs[0] == 1 && cs[1] == shape[1] && (cs[2] == 1 || cs[2] == shape[2]), name,
                    "cos.shape=", cs, " must be [1, b=", shape[1], ", 1 or num_heads=", shape[2],
                    ", head_dim=", head_dim, "] in decode mode (one position per user)");
    } else {
        // A longer table serves too: x's row t takes the table's row t (TT-NN reads the tiles of
        // x's rows and does not check the table's length).
        ATTNN_CHECK(cs[0] == 1 && (cs[1] == 1 || cs[1] == shape[1]) && cs[2] >= shape[2], name,
                    "cos.shape=", cs, " must be [1, 1 or num_heads=", shape[1], ", at least s=", shape[2],
                    " rows, head_dim=", head_dim, "] for x.shape=", shape);
    }
    const MemoryConfig config = options.memory_config.value_or(x.memory_config());

    auto lock = device.lock(name);
    auto program = device.program<RotaryEmbeddingLlamaProgram>(
        detail::ProgramKey(name)
            .add(x)
            .add(cos)
            .add(sin)
            .add(trans_mat)
            .add(options.is_decode_mode)
            .add(config),
        [&] { return std::make_shared<RotaryEmbeddingLlamaProgram>(device.pool->size(), head_dim); });
    Tensor out = detail::allocate_tensor(shape, x.dtype(), x.layout(), config, x.device_impl(), name);

    const detail::MatrixView tv = detail::matrix_view(trans_mat, name);
    for (int64_t i = 0; i < trans_size; ++i)
        tv.read(0, i, 0, trans_size, program->trans.data() + i * trans_size);
    if (ts[2] > trans_size) {
        std::vector<float> row(static_cast<std::size_t>(trans_size));
        for (int64_t r = trans_size; r < int64_t(ts[2]); ++r) {
            tv.read(0, r, 0, trans_size, row.data());
            ATTNN_CHECK(
                std::equal(row.begin(), row.end(), program->trans.begin() + (r % trans_size) * trans_size),
                name, "trans_mat.shape=", ts, ": its 32-row blocks must all hold the same matrix, but block ",
                r / trans_size, " differs from block 0 in row ", r % trans_size);
        }
    }
    // Full blocks use the whole matrix; a narrower last block its corner.
    const int64_t tail = head_dim % trans_size;
    const TransMatColumns &full = program->full, &corner = program->corner;
    sparse_columns(program->trans.data(), trans_size, program->full);
    if (tail) sparse_columns(program->trans.data(), tail, program->corner);

    const detail::MatrixView xv = detail::matrix_view(x, name), cv = detail::matrix_view(cos, name),
                             sv = detail::matrix_view(sin, name), ov = detail::matrix_view(out, name);
    // The cos/sin row for x row r: prefill views x as b*nh matrices of s rows and cos as 1 or nh
    // matrices of s rows; decode views x as b matrices of nh rows and cos as b matrices of 1 or
    // nh rows.
    const bool decode = options.is_decode_mode;
    const int64_t x_rows = xv.rows, heads = shape[1], cos_rows = cv.rows, cos_matrices = cv.batch;
    auto cos_row = [&](int64_t r) -> std::pair<int64_t, int64_t> {
        const int64_t matrix = r / x_rows, row = r % x_rows;
        if (decode) return {matrix, cos_rows == 1 ? 0 : row};
        return {cos_matrices == 1 ? 0 : matrix % heads, row};
    };
    auto rotate = [&](const float* src, float* dst) {
        for (int64_t b0 = 0; b0 < head_dim; b0 += trans_size) {
            const TransMatColumns& m = head_dim - b0 >= trans_size ? full : corner;
            const int64_t width = std::min<int64_t>(trans_size, head_dim - b0);
            for (int64_t j = 0; j < width; ++j) {
                float sum = 0.0f;
                for (int32_t e = m.begin[j]; e < m.begin[j + 1]; ++e) sum += src[b0 + m.row[e]] * m.value[e];
                dst[b0 + j] = sum;
            }
        }
    };
    // Prefill with one cos/sin for all heads: every matrix's row t takes cos row t.
    const detail::RopeRowOrder order{xv.batch, xv.rows, !decode && cos_matrices == 1};
    detail::apply_rope_rows(device, *program, xv, cv, sv, ov, order, cos_row, rotate);
    return out;
}

// -> [1, 1, 32, 32]
Tensor get_rot_transformation_mat(Device& device) {
    std::vector<float> trans(trans_size * trans_size, 0.0f);
    for (int64_t k = 0; k < trans_size / 2; ++k) {
        trans[(2 * k) * trans_size + 2 * k + 1] = 1.0f;
        trans[(2 * k + 1) * trans_size + 2 * k] = -1.0f;
    }
    return from_vector(trans, {1, 1, uint32_t(trans_size), uint32_t(trans_size)},
                       {.dtype = DataType::BFLOAT16, .layout = Layout::TILE, .device = device});
}

}  // namespace attnn::experimental

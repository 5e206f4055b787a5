// The kernels flash prefill moves its rows with, on every ISA this CPU runs: the microkernel
// on exactly `rows` rows of A (row- and column-major, all of a panel's columns or half of them)
// against fp64 sums, with the C rows and columns past them left untouched; transpose (W x W blocks and every edge) against the plain definition;
// and MatrixView::write_rows (encode_tile_rows) against the per-row write path, byte for byte,
// in every layout and floating-point dtype, for bands entered mid-way and rows ending mid-face;
// copy_rows_to_tiles (how flash decode reads a ROW_MAJOR cache) against TILE storage, byte for byte.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/tensor_access.hpp"
#include "kernels/kernels.hpp"
#include "test_util.hpp"

namespace attnn {
namespace {

using testing::test_device;

std::vector<float> normal_values(std::size_t n, uint32_t seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = normal(gen);
    return v;
}

class LayoutKernels : public ::testing::TestWithParam<kernels::Isa> {};

TEST_P(LayoutKernels, MicrokernelComputesExactlyTheRowsAsked) {
    testing::ScopedIsa scoped(GetParam());
    const auto& kt = kernels::table();
    const int mr = kt.gemm_mr, nr = kt.gemm_nr;
    for (int64_t kc : {0, 1, 7, 64}) {
        for (bool column_major : {false, true}) {
            for (bool half : {false, true}) {  // the half kernels: nr / 2 columns, B rows still nr apart
                const int width = half ? nr / 2 : nr;
                auto kernel = column_major ? (half ? kt.gemm_kernel_cols_half : kt.gemm_kernel_cols)
                                           : (half ? kt.gemm_kernel_rows_half : kt.gemm_kernel_rows);
                for (int rows = 1; rows <= mr; ++rows) {
                    const int64_t lda = column_major ? mr + 3 : kc + 5;  // strides wider than the data
                    auto a = normal_values(std::size_t(column_major ? kc * lda : mr * lda), 1);
                    auto b = normal_values(std::size_t(kc * nr + 1), 2);
                    const int64_t ldc = nr + 4;
                    auto c0 = normal_values(std::size_t((mr + 1) * ldc), 3);
                    for (bool accumulate : {false, true}) {
                        std::vector<float> c = c0;
                        kernel(rows, kc, a.data(), lda, b.data(), c.data(), ldc, accumulate);
                        for (int i = 0; i <= mr; ++i)
                            for (int64_t j = 0; j < ldc; ++j) {
                                const float got = c[std::size_t(i * ldc + j)], before = c0[std::size_t(i * ldc + j)];
                                if (i >= rows || j >= width) {  // outside the block: untouched
                                    ASSERT_EQ(got, before) << "rows " << rows << " i " << i << " j " << j;
                                    continue;
                                }
                                double expect = accumulate ? before : 0.0, mag = std::fabs(expect);
                                for (int64_t k = 0; k < kc; ++k) {
                                    const double x = a[std::size_t(column_major ? k * lda + i : i * lda + k)];
                                    expect += x * b[std::size_t(k * nr + j)];
                                    mag += std::fabs(x * b[std::size_t(k * nr + j)]);
                                }
                                ASSERT_NEAR(got, expect, 1e-6 * mag + 1e-6)
                                    << "kc " << kc << (column_major ? " cols" : " rows") << (half ? " half" : "")
                                    << " rows " << rows;
                            }
                    }
                }
            }
        }
    }
}

TEST_P(LayoutKernels, TransposeMatchesDefinition) {
    testing::ScopedIsa scoped(GetParam());
    const auto& kt = kernels::table();
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {1, 37}, {37, 1}, {4, 4}, {8, 8}, {16, 16},
                              {15, 17}, {17, 15}, {32, 64}, {33, 70}, {64, 128}}) {
        const int64_t lds = cols + 3, ldd = rows + 5;
        auto src = normal_values(std::size_t(rows * lds), 4);
        std::vector<float> dst(std::size_t(cols * ldd), -7.0f);
        kt.transpose(src.data(), lds, rows, cols, 0.5f, dst.data(), ldd);
        for (int64_t c = 0; c < cols; ++c)
            for (int64_t r = 0; r < ldd; ++r) {
                const float expect = r < rows ? src[std::size_t(r * lds + c)] * 0.5f : -7.0f;
                ASSERT_EQ(dst[std::size_t(c * ldd + r)], expect) << rows << "x" << cols << " at " << r << "," << c;
            }
    }
}

// write_rows must leave exactly the bytes the per-row write leaves in a fresh tensor.
TEST_P(LayoutKernels, WriteRowsMatchesRowWrites) {
    testing::ScopedIsa scoped(GetParam());
    for (DataType dtype : {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
        for (Layout layout : {Layout::ROW_MAJOR, Layout::TILE}) {
            if (is_block_float(dtype) && layout == Layout::ROW_MAJOR) continue;
            for (uint32_t cols : {1u, 16u, 33u, 72u, 96u}) {
                const uint32_t batch = 2, rows = 70;
                Shape shape{batch, rows, cols};
                TensorOptions o{.dtype = dtype, .layout = layout, .device = test_device()};
                Tensor by_rows = zeros(shape, o), by_block = zeros(shape, o);
                auto mv_rows = detail::matrix_view(by_rows), mv_block = detail::matrix_view(by_block);
                const int64_t ld = cols + 40;
                auto src = normal_values(std::size_t(rows * ld), 5);
                // Blocks that start and end inside tile bands: rows [5, 40) and [40, 70) of matrix 1.
                for (auto [r0, n] : {std::pair<int64_t, int64_t>{5, 35}, {40, 30}}) {
                    for (int64_t i = 0; i < n; ++i) mv_rows.write(1, r0 + i, 0, cols, src.data() + (r0 + i) * ld);
                    mv_block.write_rows(1, r0, n, src.data() + r0 * ld, ld);
                }
                const std::size_t bytes = std::size_t(mv_rows.matrix_bytes * batch);
                ASSERT_EQ(std::memcmp(mv_rows.data, mv_block.data, bytes), 0) << to_string(dtype) << " " << cols << " cols";
            }
        }
    }
}

// copy_rows_to_tiles must lay ROW_MAJOR rows out as the TILE tensor of the same values stores
// them: rows [i0, i0 + n) of the band, every column up to the next multiple of 16 (zeros past
// cols), and nothing else touched.
TEST_P(LayoutKernels, CopyRowsToTilesMatchesTileStorage) {
    testing::ScopedIsa scoped(GetParam());
    const auto& k = kernels::table();
    for (DataType dtype : {DataType::FLOAT32, DataType::BFLOAT16}) {
        for (uint32_t cols : {1u, 16u, 33u, 72u, 96u, 128u}) {
            const uint32_t rows = 64;
            auto values = normal_values(std::size_t(rows) * cols, 9);
            Shape shape{rows, cols};
            auto o = [&](Layout l) { return TensorOptions{.dtype = dtype, .layout = l, .device = test_device()}; };
            Tensor row_major = from_host(std::span<const float>(values), shape, o(Layout::ROW_MAJOR));
            Tensor tile = from_host(std::span<const float>(values), shape, o(Layout::TILE));
            auto rm = detail::matrix_view(row_major), tv = detail::matrix_view(tile);
            const int format = detail::kernel_format(dtype);
            const int64_t tile_bytes = int64_t(tile_size_bytes(dtype)), band_bytes = (cols + 31) / 32 * tile_bytes;
            const int64_t face_row = 16 * int64_t(rm.element_bytes()), segs = (cols + 15) / 16;
            // Rows [5, 40): a band entered mid-way, another left mid-way.
            for (auto [band_row, i0, n] : {std::tuple<int64_t, int64_t, int64_t>{0, 5, 27}, {32, 0, 8}}) {
                std::vector<uint8_t> band(std::size_t(band_bytes), 0xab);
                k.copy_rows_to_tiles(format, band.data(), i0, n,
                                     reinterpret_cast<const uint8_t*>(rm.element(0, band_row + i0, 0)),
                                     cols * int64_t(rm.element_bytes()), cols);
                const auto* want = reinterpret_cast<const uint8_t*>(tv.band(0, band_row));
                for (int64_t r = 0; r < 32; ++r)
                    for (int64_t sg = 0; sg < 2 * ((cols + 31) / 32); ++sg) {
                        const int64_t at = sg / 2 * tile_bytes + ((r >= 16 ? 2 : 0) + sg % 2) * 16 * face_row +
                                           r % 16 * face_row;
                        const bool written = r >= i0 && r < i0 + n && sg < segs;
                        for (int64_t x = 0; x < face_row; ++x)
                            ASSERT_EQ(band[std::size_t(at + x)], written ? want[at + x] : 0xab)
                                << to_string(dtype) << " " << cols << " cols, row " << r << ", face row " << sg;
                    }
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, LayoutKernels, ::testing::ValuesIn(kernels::supported_isas()),
                         testing::isa_param_name);

}  // namespace
}  // namespace attnn

// Data types, layouts, memory configs and shapes, with TT-NN's names.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace attnn {

// Tiles are 32x32, made of four 16x16 faces (top-left, top-right, bottom-left, bottom-right).
inline constexpr int TILE_HEIGHT = 32;
inline constexpr int TILE_WIDTH = 32;
inline constexpr int FACE_HEIGHT = 16;
inline constexpr int FACE_WIDTH = 16;

enum class DataType { BFLOAT16, FLOAT32, UINT32, BFLOAT8_B, BFLOAT4_B, INT32 };
enum class Layout { ROW_MAJOR, TILE };

// Where TT-NN places a buffer. On the CPU device both are host memory: the config is carried
// on the tensor so TT-NN programs read the same, and L1 is a hint that the tensor is small
// and short-lived (nothing is placed differently today).
enum class TensorMemoryLayout { INTERLEAVED, HEIGHT_SHARDED, WIDTH_SHARDED, BLOCK_SHARDED };
enum class BufferType { DRAM, L1 };
struct MemoryConfig {
    TensorMemoryLayout memory_layout = TensorMemoryLayout::INTERLEAVED;
    BufferType buffer_type = BufferType::DRAM;
    friend bool operator==(const MemoryConfig&, const MemoryConfig&) = default;
};
inline constexpr MemoryConfig DRAM_MEMORY_CONFIG{TensorMemoryLayout::INTERLEAVED, BufferType::DRAM};
inline constexpr MemoryConfig L1_MEMORY_CONFIG{TensorMemoryLayout::INTERLEAVED, BufferType::L1};

// How closely a kernel computes its products, as TT-NN's compute_kernel_config says it: Tensix
// multiplies in 1 to 4 passes over the mantissa bits (LoFi .. HiFi4). attnn computes and
// accumulates in fp32 throughout, so only math_fidelity has an effect, and only where attnn's
// fast path is a narrower product: flash decode's int8 scores on a BFLOAT8_B K cache. There
// LoFi and HiFi2 round q to int8 per 16-value face row (the precision of the cache's own rows;
// rows with an outlier keep their residual), and HiFi3 and HiFi4 keep every row's residual
// (q to 2^-15 of its row's largest value, as exact as fp32 products, at 7-17% more decode time).
// The other fields are accepted so TT-NN programs read the same.
enum class MathFidelity { LoFi = 0, HiFi2 = 2, HiFi3 = 3, HiFi4 = 4 };
constexpr bool is_valid(MathFidelity f) {
    return f == MathFidelity::LoFi || f == MathFidelity::HiFi2 || f == MathFidelity::HiFi3 ||
           f == MathFidelity::HiFi4;
}
struct WormholeComputeKernelConfig {  // TT-NN's defaults
    MathFidelity math_fidelity = MathFidelity::LoFi;
    bool math_approx_mode = true;
    bool fp32_dest_acc_en = false;
    bool packer_l1_acc = false;
    bool dst_full_sync_en = false;
};

std::string to_string(DataType dtype);  // "DataType::BFLOAT16"
std::string to_string(Layout layout);   // "Layout::TILE"
std::string to_string(const MemoryConfig& config);
std::ostream& operator<<(std::ostream& os, DataType dtype);
std::ostream& operator<<(std::ostream& os, Layout layout);

bool is_block_float(DataType dtype);  // BFLOAT8_B, BFLOAT4_B: TILE layout only
bool is_floating_point(DataType dtype);
// Bytes of one 32x32 tile: 4096 (FLOAT32, INT32, UINT32), 2048 (BFLOAT16), 1088 (BFLOAT8_B), 576 (BFLOAT4_B).
std::size_t tile_size_bytes(DataType dtype);
// Bytes of one element in ROW_MAJOR layout; block floats have none and throw.
std::size_t element_size_bytes(DataType dtype);

// A tensor shape of rank 1..8. Indexing accepts negative indices counting from the end.
class Shape {
  public:
    static constexpr int max_rank = 8;
    Shape() = default;
    Shape(std::initializer_list<uint32_t> dims);
    explicit Shape(std::span<const uint32_t> dims);
    explicit Shape(const std::vector<uint32_t>& dims) : Shape(std::span<const uint32_t>(dims)) {}

    int rank() const { return rank_; }
    uint32_t operator[](int index) const;
    uint32_t& operator[](int index);
    uint64_t volume() const;
    std::span<const uint32_t> dims() const { return {dims_.data(), std::size_t(rank_)}; }
    std::vector<uint32_t> to_vector() const { return {dims_.begin(), dims_.begin() + rank_}; }
    // Product of all dims but the last two (1 for rank <= 2).
    uint64_t batch_volume() const;

    friend bool operator==(const Shape& a, const Shape& b);
    std::string to_string() const;  // "Shape([8, 384, 1024])"

  private:
    std::array<uint32_t, max_rank> dims_{};
    int rank_ = 0;
};
std::ostream& operator<<(std::ostream& os, const Shape& shape);

// bfloat16: the top 16 bits of an fp32, rounded to nearest even.
struct bfloat16 {
    uint16_t bits = 0;
    bfloat16() = default;
    explicit bfloat16(float value);
    static bfloat16 from_bits(uint16_t bits) {
        bfloat16 b;
        b.bits = bits;
        return b;
    }
    float to_float() const;
    explicit operator float() const { return to_float(); }
};

// Where a set of TT-NN "cores" does its work. On the CPU device a core is a worker thread:
// ops given a core_grid use at most y*x workers.
struct CoreGrid {
    uint32_t y = 1;
    uint32_t x = 1;
    uint32_t num_cores() const { return y * x; }
};

}  // namespace attnn

#include "attnn/types.hpp"

#include <cstring>
#include <sstream>

#include "attnn/error.hpp"

namespace attnn {

std::string to_string(DataType dtype) {
    switch (dtype) {
        case DataType::BFLOAT16:
            return "DataType::BFLOAT16";
        case DataType::FLOAT32:
            return "DataType::FLOAT32";
        case DataType::UINT32:
            return "DataType::UINT32";
        case DataType::BFLOAT8_B:
            return "DataType::BFLOAT8_B";
        case DataType::BFLOAT4_B:
            return "DataType::BFLOAT4_B";
        case DataType::INT32:
            return "DataType::INT32";
    }
    return "DataType::?";
}

std::string to_string(Layout layout) { return layout == Layout::TILE ? "Layout::TILE" : "Layout::ROW_MAJOR"; }

std::string to_string(const MemoryConfig& config) {
    const char* buffer = config.buffer_type == BufferType::L1 ? "L1" : "DRAM";
    if (config.memory_layout == TensorMemoryLayout::INTERLEAVED)
        return std::string(buffer) + "_MEMORY_CONFIG";
    static const char* const layouts[] = {"INTERLEAVED", "HEIGHT_SHARDED", "WIDTH_SHARDED", "BLOCK_SHARDED"};
    return std::string("MemoryConfig(memory_layout=TensorMemoryLayout::") +
           layouts[int(config.memory_layout)] + ", buffer_type=BufferType::" + buffer + ")";
}

std::ostream& operator<<(std::ostream& os, DataType dtype) { return os << to_string(dtype); }
std::ostream& operator<<(std::ostream& os, Layout layout) { return os << to_string(layout); }

bool is_block_float(DataType dtype) { return dtype == DataType::BFLOAT8_B || dtype == DataType::BFLOAT4_B; }

bool is_floating_point(DataType dtype) {
    return dtype == DataType::FLOAT32 || dtype == DataType::BFLOAT16 || is_block_float(dtype);
}

std::size_t tile_size_bytes(DataType dtype) {
    switch (dtype) {
        case DataType::BFLOAT16:
            return 2048;
        case DataType::BFLOAT8_B:
            return 64 + 1024;
        case DataType::BFLOAT4_B:
            return 64 + 512;
        default:
            return 4096;
    }
}

std::size_t element_size_bytes(DataType dtype) {
    switch (dtype) {
        case DataType::BFLOAT16:
            return 2;
        case DataType::BFLOAT8_B:
        case DataType::BFLOAT4_B:
            detail::fail(ErrorKind::TypeMismatch, "element_size_bytes", to_string(dtype),
                         " has no per-element size: it exists only in TILE layout");
        default:
            return 4;
    }
}

Shape::Shape(std::initializer_list<uint32_t> dims)
    : Shape(std::span<const uint32_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const uint32_t> dims) {
    if (dims.size() > std::size_t(max_rank))
        detail::fail(ErrorKind::InvalidArgument, "Shape", "rank ", dims.size(), " exceeds the maximum rank ",
                     max_rank);
    rank_ = int(dims.size());
    for (int i = 0; i < rank_; ++i) dims_[i] = dims[i];
}

uint32_t Shape::operator[](int index) const {
    int i = index < 0 ? index + rank_ : index;
    if (i < 0 || i >= rank_)
        detail::fail(ErrorKind::InvalidArgument, "Shape", "index ", index, " is out of range for rank ",
                     rank_);
    return dims_[i];
}

uint32_t& Shape::operator[](int index) {
    int i = index < 0 ? index + rank_ : index;
    if (i < 0 || i >= rank_)
        detail::fail(ErrorKind::InvalidArgument, "Shape", "index ", index, " is out of range for rank ",
                     rank_);
    return dims_[i];
}

uint64_t Shape::volume() const {
    uint64_t v = 1;
    for (int i = 0; i < rank_; ++i) v *= dims_[i];
    return v;
}

uint64_t Shape::batch_volume() const {
    uint64_t v = 1;
    for (int i = 0; i + 2 < rank_; ++i) v *= dims_[i];
    return v;
}

bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
        if (a.dims_[i] != b.dims_[i]) return false;
    return true;
}

std::string Shape::to_string() const {
    std::ostringstream os;
    os << "Shape([";
    for (int i = 0; i < rank_; ++i) os << (i ? ", " : "") << dims_[i];
    os << "])";
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Shape& shape) { return os << shape.to_string(); }

bfloat16::bfloat16(float value) {
    uint32_t u;
    std::memcpy(&u, &value, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        bits = uint16_t((u >> 16) | 0x40u);  // quiet NaN
    else
        bits = uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float bfloat16::to_float() const {
    uint32_t u = uint32_t(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

}  // namespace attnn

// The .npy format (numpy/lib/format.py, NEP 1): 6 magic bytes "\x93NUMPY", a major and minor
// version byte, the header length (2 bytes little-endian in 1.0, 4 bytes in 2.0 and 3.0), then
// a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), } padded with
// spaces and ended by '\n' so the data that follows starts at a multiple of 64 bytes.
#include "attnn/npy.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attnn/error.hpp"
#include "core/tensor_access.hpp"

namespace attnn {

namespace {

constexpr char magic[] = "\x93NUMPY";
constexpr std::size_t magic_len = 6;
// numpy aligns the data to 64 bytes so it can be memory-mapped with any SIMD alignment.
constexpr std::size_t header_align = 64;
// numpy leaves room for the first dim to grow to 21 digits so a header can be rewritten in
// place when appending; the spaces it adds are reproduced so saved bytes match np.save.
constexpr std::size_t growth_axis_max_digits = 21;

[[noreturn]] void fail_file(ErrorKind kind, const std::string& op, const std::string& path,
                            const std::string& what) {
    detail::fail(kind, op, path, ": ", what);
}

// The element types a file may hold and what they load as by default.
enum class FileType { f4, f8, i4, u4, bf16 };

struct Header {
    FileType type = FileType::f4;
    std::vector<uint64_t> shape;
};

// A parser for the one Python literal numpy writes: a dict of str keys whose values are a str,
// True/False, or a tuple of ints. Anything else is reported, never guessed at.
class HeaderParser {
  public:
    HeaderParser(std::string_view text, const std::string& path) : text_(text), path_(path) {}

    Header parse() {
        std::string descr;
        bool have_descr = false, have_order = false, have_shape = false, fortran = false;
        std::vector<uint64_t> shape;
        expect('{');
        while (!consume('}')) {
            std::string key = string_literal();
            expect(':');
            if (key == "descr") {
                skip_space();
                if (peek() != '\'' && peek() != '"')
                    bad("'descr' is not a simple type string (structured dtypes are not supported)");
                descr = string_literal();
                have_descr = true;
            } else if (key == "fortran_order") {
                fortran = boolean();
                have_order = true;
            } else if (key == "shape") {
                shape = tuple();
                have_shape = true;
            } else {
                bad("unexpected header key '" + key + "'");
            }
            if (!consume(',')) {
                expect('}');
                break;
            }
        }
        if (!have_descr || !have_order || !have_shape)
            bad("the header lacks 'descr', 'fortran_order' or 'shape'");
        if (fortran)
            fail_file(
                ErrorKind::InvalidArgument, "load_npy", path_,
                "fortran_order is True; only C-order arrays are supported (save np.ascontiguousarray(a))");
        return {file_type(descr), std::move(shape)};
    }

  private:
    [[noreturn]] void bad(const std::string& what) {
        fail_file(ErrorKind::Runtime, "load_npy", path_, "malformed .npy header: " + what);
    }
    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n'))
            ++pos_;
    }
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    bool consume(char c) {
        skip_space();
        if (peek() != c) return false;
        ++pos_;
        return true;
    }
    void expect(char c) {
        if (!consume(c)) bad(std::string("expected '") + c + "' at offset " + std::to_string(pos_));
    }
    std::string string_literal() {
        skip_space();
        char quote = peek();
        if (quote != '\'' && quote != '"') bad("expected a quoted string at offset " + std::to_string(pos_));
        std::size_t end = text_.find(quote, pos_ + 1);
        if (end == std::string_view::npos) bad("unterminated string");
        std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
        return s;
    }
    bool boolean() {
        skip_space();
        if (text_.substr(pos_, 4) == "True") {
            pos_ += 4;
            return true;
        }
        if (text_.substr(pos_, 5) == "False") {
            pos_ += 5;
            return false;
        }
        bad("'fortran_order' must be True or False");
    }
    std::vector<uint64_t> tuple() {
        std::vector<uint64_t> dims;
        expect('(');
        while (!consume(')')) {
            skip_space();
            if (peek() < '0' || peek() > '9') bad("'shape' must be a tuple of non-negative ints");
            uint64_t v = 0;
            while (peek() >= '0' && peek() <= '9') {
                uint64_t digit = uint64_t(text_[pos_++] - '0');
                if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10)
                    bad("a dim of 'shape' overflows");
                v = v * 10 + digit;
            }
            dims.push_back(v);
            if (!consume(',')) {
                expect(')');
                break;
            }
        }
        return dims;
    }
    FileType file_type(const std::string& descr) {
        // '<V2' is how np.save writes an ml_dtypes.bfloat16 array: numpy sees an opaque 2-byte
        // type. A bare '|V2' is a plain np.void array, which is not known to be bfloat16.
        if (descr == "<f4") return FileType::f4;
        if (descr == "<f8") return FileType::f8;
        if (descr == "<i4") return FileType::i4;
        if (descr == "<u4") return FileType::u4;
        if (descr == "<V2") return FileType::bf16;
        if (!descr.empty() && descr[0] == '>')
            fail_file(ErrorKind::InvalidArgument, "load_npy", path_,
                      "dtype '" + descr +
                          "' is big-endian; save it as little-endian (a.astype(a.dtype.newbyteorder('<')))");
        fail_file(ErrorKind::InvalidArgument, "load_npy", path_,
                  "unsupported dtype '" + descr +
                      "'; supported: '<f4', '<f8', '<i4', '<u4' and '<V2' (ml_dtypes.bfloat16)");
    }

    std::string_view text_;
    const std::string& path_;
    std::size_t pos_ = 0;
};

std::size_t item_size(FileType type) {
    switch (type) {
        case FileType::f8:
            return 8;
        case FileType::bf16:
            return 2;
        default:
            return 4;
    }
}

// Reads `count` items of type T following the header, checking the file holds them all.
template <class T>
std::vector<T> read_items(std::ifstream& in, uint64_t count, const std::string& path) {
    std::vector<T> items(count);
    in.read(reinterpret_cast<char*>(items.data()), std::streamsize(count * sizeof(T)));
    if (uint64_t(in.gcount()) != count * sizeof(T))
        fail_file(ErrorKind::Runtime, "load_npy", path,
                  "truncated: the header promises " + std::to_string(count * sizeof(T)) +
                      " data bytes, the file has " + std::to_string(in.gcount()));
    return items;
}

std::string shape_literal(const Shape& shape) {
    std::string s = "(";
    for (int d = 0; d < shape.rank(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
    return s + (shape.rank() == 1 ? ",)" : ")");
}

}  // namespace

Tensor load_npy(const std::string& path, const TensorOptions& options) {
    const char* op = "load_npy";
    std::ifstream in(path, std::ios::binary);
    if (!in) fail_file(ErrorKind::Runtime, op, path, "cannot open the file (missing or unreadable)");

    char prefix[magic_len + 2];
    in.read(prefix, sizeof prefix);
    if (in.gcount() != std::streamsize(sizeof prefix) || std::memcmp(prefix, magic, magic_len) != 0)
        fail_file(ErrorKind::Runtime, op, path, "not a .npy file (the magic bytes \\x93NUMPY are missing)");
    const int major = uint8_t(prefix[magic_len]), minor = uint8_t(prefix[magic_len + 1]);
    if (major < 1 || major > 3)
        fail_file(ErrorKind::Runtime, op, path,
                  "unsupported .npy version " + std::to_string(major) + "." + std::to_string(minor) +
                      " (1.0, 2.0 and 3.0 are supported)");
    // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 (utf8 header) in 4.
    const std::size_t len_bytes = major == 1 ? 2 : 4;
    unsigned char len_le[4] = {};
    in.read(reinterpret_cast<char*>(len_le), std::streamsize(len_bytes));
    if (in.gcount() != std::streamsize(len_bytes))
        fail_file(ErrorKind::Runtime, op, path, "truncated in the header");
    uint64_t header_len = 0;
    for (std::size_t i = 0; i < len_bytes; ++i) header_len |= uint64_t(len_le[i]) << (8 * i);

    std::ifstream::pos_type here = in.tellg();
    in.seekg(0, std::ios::end);
    const uint64_t file_size = uint64_t(in.tellg());
    in.seekg(here);
    if (header_len > file_size - uint64_t(here))
        fail_file(ErrorKind::Runtime, op, path,
                  "truncated: the header length is " + std::to_string(header_len) +
                      " bytes but the file has " + std::to_string(file_size));
    std::string header_text(header_len, '\0');
    in.read(header_text.data(), std::streamsize(header_len));
    Header header = HeaderParser(header_text, path).parse();

    // numpy scalars (shape ()) have one value; attnn tensors have rank >= 1.
    if (header.shape.empty()) header.shape.push_back(1);
    if (header.shape.size() > std::size_t(Shape::max_rank))
        fail_file(ErrorKind::InvalidArgument, op, path,
                  "rank " + std::to_string(header.shape.size()) + " exceeds attnn's maximum rank " +
                      std::to_string(Shape::max_rank));
    std::vector<uint32_t> dims;
    uint64_t volume = 1;
    for (uint64_t d : header.shape) {
        if (d == 0) fail_file(ErrorKind::InvalidArgument, op, path, "the array is empty (a dim is 0)");
        if (d > std::numeric_limits<uint32_t>::max())
            fail_file(ErrorKind::InvalidArgument, op, path,
                      "dim " + std::to_string(d) + " does not fit in 32 bits");
        dims.push_back(uint32_t(d));
        if (volume > std::numeric_limits<uint64_t>::max() / d)
            fail_file(ErrorKind::Runtime, op, path, "the shape's volume overflows");
        volume *= d;
    }
    const uint64_t data_bytes_left = file_size - uint64_t(here) - header_len;
    if (volume > data_bytes_left / item_size(header.type))
        fail_file(ErrorKind::Runtime, op, path,
                  "truncated: shape " + Shape(dims).to_string() + " needs " + std::to_string(volume) +
                      " values of " + std::to_string(item_size(header.type)) + " bytes, the file holds " +
                      std::to_string(data_bytes_left) + " data bytes");

    const Shape shape(dims);
    switch (header.type) {
        case FileType::f4:
            return from_host(std::span<const float>(read_items<float>(in, volume, path)), shape, options);
        case FileType::f8: {
            // float64 has no attnn dtype; it loads as FLOAT32 unless options say otherwise.
            auto values = read_items<double>(in, volume, path);
            return from_host(std::span<const double>(values), shape, options);
        }
        case FileType::i4:
            return from_host(std::span<const int32_t>(read_items<int32_t>(in, volume, path)), shape, options);
        case FileType::u4:
            return from_host(std::span<const uint32_t>(read_items<uint32_t>(in, volume, path)), shape,
                             options);
        case FileType::bf16: {
            auto bits = read_items<uint16_t>(in, volume, path);
            std::vector<bfloat16> values(bits.size());
            for (std::size_t i = 0; i < bits.size(); ++i) values[i] = bfloat16::from_bits(bits[i]);
            return from_host(std::span<const bfloat16>(values), shape, options);
        }
    }
    fail_file(ErrorKind::Runtime, op, path, "unreachable file type");
}

void save_npy(const std::string& path, const Tensor& tensor) {
    const char* op = "save_npy";
    detail::require_allocated(tensor, op, "tensor");
    std::string descr;
    std::vector<char> data;
    auto append = [&data](const auto& values) {
        const char* bytes = reinterpret_cast<const char*>(values.data());
        data.assign(bytes, bytes + values.size() * sizeof(values[0]));
    };
    switch (tensor.dtype()) {
        case DataType::BFLOAT16:
            descr = "<V2";
            append(to_host<bfloat16>(tensor));
            break;
        case DataType::INT32:
            descr = "<i4";
            append(to_host<int32_t>(tensor));
            break;
        case DataType::UINT32:
            descr = "<u4";
            append(to_host<uint32_t>(tensor));
            break;
        case DataType::FLOAT32:
        case DataType::BFLOAT8_B:
        case DataType::BFLOAT4_B:
            descr = "<f4";
            append(to_host<float>(tensor));
            break;
    }

    const Shape& shape = tensor.shape();
    std::string header =
        "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_literal(shape) + ", }";
    header.append(growth_axis_max_digits - std::to_string(shape[0]).size(), ' ');
    // Version 1.0: magic, 2 version bytes, 2 length bytes, then the header up to the '\n'.
    const std::size_t prefix_len = magic_len + 2 + 2;
    const std::size_t unpadded = prefix_len + header.size() + 1;
    header.append((header_align - unpadded % header_align) % header_align, ' ');
    header += '\n';
    if (header.size() > std::numeric_limits<uint16_t>::max())
        fail_file(ErrorKind::InvalidArgument, op, path, "the header does not fit a version 1.0 file");

    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) fail_file(ErrorKind::Runtime, op, path, "cannot open the file for writing");
    const unsigned char version_and_len[4] = {1, 0, uint8_t(header.size() & 0xff),
                                              uint8_t(header.size() >> 8)};
    out.write(magic, magic_len);
    out.write(reinterpret_cast<const char*>(version_and_len), 4);
    out.write(header.data(), std::streamsize(header.size()));
    out.write(data.data(), std::streamsize(data.size()));
    out.close();
    if (!out) fail_file(ErrorKind::Runtime, op, path, "writing failed (disk full or the path is unwritable)");
}

}  // namespace attnn

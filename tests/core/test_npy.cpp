// .npy files written by numpy (tests/data, generated with numpy 2.4 and ml_dtypes 0.6) load with
// their values, and save_npy writes the bytes np.save writes.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace attnn {
namespace {

using testing::expect_error;

std::string data_file(const std::string& name) { return std::string(ATTNN_TEST_DATA_DIR) + "/" + name; }

std::vector<char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A file in the temp dir, removed when the test ends.
struct TempFile {
    explicit TempFile(const std::string& name)
        : path((std::filesystem::temp_directory_path() /
                ("attnn_test_" + std::to_string(::getpid()) + "_" + name))
                   .string()) {}
    ~TempFile() { std::remove(path.c_str()); }
    void write(const std::vector<char>& bytes) const {
        std::ofstream out(path, std::ios::binary);
        out.write(bytes.data(), std::streamsize(bytes.size()));
    }
    std::string path;
};

ErrorKind error_kind(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.kind();
    }
    ADD_FAILURE() << "expected attnn::Error";
    return ErrorKind::TypeMismatch;
}

TEST(Npy, LoadsFloat32WithShapeAndValues) {
    Tensor t = load_npy(data_file("f32_2x3.npy"));
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    EXPECT_EQ(t.dtype(), DataType::FLOAT32);
    EXPECT_EQ(t.layout(), Layout::ROW_MAJOR);
    EXPECT_EQ(to_host<float>(t), (std::vector<float>{1.5f, -2.25f, 3.0f, 0.1f, -0.0f, 1e-30f}));
}

TEST(Npy, LoadsFloat64AsFloat32) {
    Tensor t = load_npy(data_file("f64_4.npy"));
    EXPECT_EQ(t.shape(), (Shape{4}));
    EXPECT_EQ(t.dtype(), DataType::FLOAT32);
    auto v = to_host<float>(t);
    EXPECT_EQ(v[0], 1.0f);
    EXPECT_EQ(v[1], -0.5f);
    EXPECT_EQ(v[2], INFINITY);  // 1e300 is out of float range
    EXPECT_EQ(v[3], float(3.141592653589793));
}

TEST(Npy, LoadsIntegersExactly) {
    Tensor i = load_npy(data_file("i32_5.npy"));
    EXPECT_EQ(i.dtype(), DataType::INT32);
    EXPECT_EQ(to_host<int32_t>(i), (std::vector<int32_t>{-2147483647 - 1, -1, 0, 7, 2147483647}));
    Tensor u = load_npy(data_file("u32_3.npy"));
    EXPECT_EQ(u.dtype(), DataType::UINT32);
    EXPECT_EQ(to_host<uint32_t>(u), (std::vector<uint32_t>{0, 1, 4294967295u}));
}

TEST(Npy, LoadsMlDtypesBfloat16AsBfloat16) {
    Tensor t = load_npy(data_file("bf16_2x2.npy"));
    EXPECT_EQ(t.dtype(), DataType::BFLOAT16);
    EXPECT_EQ(t.shape(), (Shape{2, 2}));
    auto v = to_host<float>(t);
    EXPECT_EQ(v[0], 1.0f);
    EXPECT_EQ(v[1], -2.5f);
    EXPECT_EQ(v[2], 0.125f);
    EXPECT_EQ(v[3], bfloat16(3.0e38f).to_float());
}

TEST(Npy, LoadsThreeDimensionalArraysInCOrder) {
    Tensor t = load_npy(data_file("f32_2x3x4.npy"));
    EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
    auto v = to_host<float>(t);
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], float(i) * 0.5f - 3.0f) << "at " << i;
}

TEST(Npy, ScalarLoadsAsShapeOne) {
    Tensor t = load_npy(data_file("f32_scalar.npy"));
    EXPECT_EQ(t.shape(), (Shape{1}));
    EXPECT_EQ(to_host<float>(t), std::vector<float>{42.5f});
}

TEST(Npy, LoadsFormatVersions2And3) {
    EXPECT_EQ(to_host<float>(load_npy(data_file("f32_v2.npy"))), (std::vector<float>{1.0f, 2.0f, 3.0f}));
    EXPECT_EQ(to_host<float>(load_npy(data_file("f32_v3.npy"))), (std::vector<float>{4.0f, 5.0f}));
}

TEST(Npy, OptionsConvertDtypeLayoutAndDevice) {
    Tensor t =
        load_npy(data_file("f32_2x3x4.npy"),
                 {.dtype = DataType::BFLOAT8_B, .layout = Layout::TILE, .device = testing::test_device()});
    EXPECT_EQ(t.dtype(), DataType::BFLOAT8_B);
    EXPECT_EQ(t.layout(), Layout::TILE);
    EXPECT_TRUE(t.storage_on_device());
    auto v = to_host<float>(t);
    // Halves up to 8.5 fit the 7 magnitude bits of every row's shared exponent exactly.
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], float(i) * 0.5f - 3.0f) << "at " << i;
    Tensor b = load_npy(data_file("bf16_2x2.npy"), {.dtype = DataType::FLOAT32});
    EXPECT_EQ(b.dtype(), DataType::FLOAT32);
    EXPECT_EQ(to_host<float>(b)[1], -2.5f);
}

// save_npy must write exactly what np.save writes for the same array, header padding included.
class NpySaveMatchesNumpy : public ::testing::TestWithParam<std::string> {};

TEST_P(NpySaveMatchesNumpy, ByteForByte) {
    const std::string source = data_file(GetParam());
    Tensor t = load_npy(source);
    TempFile out(GetParam());
    save_npy(out.path, t);
    EXPECT_EQ(read_bytes(out.path), read_bytes(source));
}

INSTANTIATE_TEST_SUITE_P(NumpyFixtures, NpySaveMatchesNumpy,
                         ::testing::Values("f32_2x3.npy", "f32_2x3x4.npy", "i32_5.npy", "u32_3.npy",
                                           "bf16_2x2.npy"),
                         [](const auto& info) {
                             std::string name = info.param;
                             return name.substr(0, name.find('.'));
                         });

TEST(Npy, SaveRoundTripsTileAndBlockFloatTensors) {
    auto data = testing::random_values(40 * 50, 11);
    Tensor tiled = from_host(std::span<const float>(data), Shape{40, 50}, {.layout = Layout::TILE});
    TempFile f32("tile_f32.npy");
    save_npy(f32.path, tiled);
    EXPECT_EQ(to_host<float>(load_npy(f32.path)), data);

    // Block floats are saved decoded, as float32.
    Tensor bfp8 = typecast(tiled, DataType::BFLOAT8_B);
    TempFile b8("tile_bfp8.npy");
    save_npy(b8.path, bfp8);
    Tensor back = load_npy(b8.path);
    EXPECT_EQ(back.dtype(), DataType::FLOAT32);
    EXPECT_EQ(to_host<float>(back), to_host<float>(bfp8));
}

TEST(Npy, MissingFileNamesThePath) {
    const std::string path = data_file("does_not_exist.npy");
    expect_error([&] { load_npy(path); }, {"load_npy", path.c_str(), "cannot open"});
    EXPECT_EQ(error_kind([&] { load_npy(path); }), ErrorKind::Runtime);
}

TEST(Npy, FortranOrderIsRejected) {
    expect_error([&] { load_npy(data_file("f32_fortran.npy")); }, {"f32_fortran.npy", "fortran_order"});
}

TEST(Npy, BigEndianIsRejected) {
    expect_error([&] { load_npy(data_file("f32_bigendian.npy")); }, {"f32_bigendian.npy", "big-endian"});
}

TEST(Npy, UnsupportedDtypeIsRejected) {
    expect_error([&] { load_npy(data_file("i16_2.npy")); }, {"i16_2.npy", "unsupported dtype '<i2'"});
    EXPECT_EQ(error_kind([&] { load_npy(data_file("i16_2.npy")); }), ErrorKind::InvalidArgument);
}

TEST(Npy, BadMagicIsRejected) {
    auto bytes = read_bytes(data_file("f32_2x3.npy"));
    bytes[1] = 'X';
    TempFile f("bad_magic.npy");
    f.write(bytes);
    expect_error([&] { load_npy(f.path); }, {f.path.c_str(), "magic"});
}

// Every prefix of a valid file is an error, never a crash or a read past the end.
TEST(Npy, EveryTruncationIsReported) {
    const auto bytes = read_bytes(data_file("f32_2x3.npy"));
    TempFile f("truncated.npy");
    for (std::size_t len = 0; len < bytes.size(); ++len) {
        f.write(std::vector<char>(bytes.begin(), bytes.begin() + std::ptrdiff_t(len)));
        EXPECT_EQ(error_kind([&] { load_npy(f.path); }), ErrorKind::Runtime) << "length " << len;
    }
    expect_error(
        [&] {
            f.write(std::vector<char>(bytes.begin(), bytes.end() - 1));
            load_npy(f.path);
        },
        {"truncated"});
}

TEST(Npy, MalformedHeaderIsReported) {
    auto bytes = read_bytes(data_file("f32_2x3.npy"));
    std::string header(bytes.begin() + 10, bytes.begin() + 128);
    header.replace(header.find("'shape'"), 7, "'shap3'");
    std::copy(header.begin(), header.end(), bytes.begin() + 10);
    TempFile f("malformed.npy");
    f.write(bytes);
    expect_error([&] { load_npy(f.path); }, {f.path.c_str(), "malformed", "shap3"});
}

}  // namespace
}  // namespace attnn

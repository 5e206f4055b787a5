// embedding, plus_one, copy and copy_host_to_device_tensor: the ops a decode loop uses to look up
// its RoPE rows and advance its positions in place, against the fp64 gather reference.
#include <climits>
#include <random>

#include "attnn/ops/data_movement.hpp"
#include "attnn/ops/eltwise.hpp"
#include "attnn/ops/embedding.hpp"
#include "core/buffer.hpp"
#include "ops/op_test_util.hpp"
#include "reference/data_movement.hpp"

namespace attnn {
namespace {

using testing::expect_error;
using testing::expect_exact;
using testing::Format;
using testing::random_tensor;
using testing::test_device;

struct EmbeddingCase {
    uint32_t b, s, rows, dim;
};

std::vector<int64_t> random_indices(std::size_t n, int64_t rows, uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int64_t> pick(0, rows - 1);
    std::vector<int64_t> out(n);
    for (auto& i : out) i = pick(gen);
    return out;
}

// Indices as a device tensor of `dtype`, shaped [b, s] or TT-NN's [b, 1, 1, s].
Tensor index_tensor(const std::vector<int64_t>& idx, uint32_t b, uint32_t s, DataType dtype, bool four_d) {
    const Shape shape = four_d ? Shape{b, 1, 1, s} : Shape{b, s};
    if (dtype == DataType::UINT32) {
        std::vector<uint32_t> u(idx.begin(), idx.end());
        return from_host(std::span<const uint32_t>(u), shape, {.device = test_device()});
    }
    std::vector<int32_t> v(idx.begin(), idx.end());
    return from_host(std::span<const int32_t>(v), shape, {.device = test_device()});
}

class Embedding : public ::testing::TestWithParam<std::tuple<Format, EmbeddingCase>> {};

// Every weight format, both index dtypes and shapes, the output in both layouts (block floats:
// TILE only) and the weight's dtype or another: each output row is the weight's row as stored,
// encoded into the output's dtype.
TEST_P(Embedding, GathersTheWeightRows) {
    const auto [f, c] = GetParam();
    const std::vector<int64_t> idx = random_indices(std::size_t(c.b) * c.s, c.rows, c.b * 1000 + c.s);
    Tensor weight = random_tensor({c.rows, c.dim}, f, c.rows + c.dim);
    const reference::Array table = reference::from_tensor(weight);
    const reference::Array want = reference::embedding(idx, {c.b, c.s}, table);
    for (DataType index_dtype : {DataType::INT32, DataType::UINT32})
        for (Layout layout : {Layout::ROW_MAJOR, Layout::TILE}) {
            if (is_block_float(f.dtype) && layout == Layout::ROW_MAJOR) continue;
            Tensor input = index_tensor(idx, c.b, c.s, index_dtype, layout == Layout::TILE);
            Tensor out = embedding(input, weight, {.layout = layout});
            EXPECT_EQ(out.dtype(), f.dtype);
            EXPECT_EQ(out.layout(), layout);
            expect_exact(out, want);
        }
    // No layout: the weight's, as TT-NN's.
    EXPECT_EQ(embedding(index_tensor(idx, c.b, c.s, DataType::INT32, false), weight).layout(), f.layout);
    // Another output dtype; the weight as [1, 1, rows, dim].
    Tensor input = index_tensor(idx, c.b, c.s, DataType::INT32, false);
    Tensor weight4 = reshape(weight, Shape{1, 1, c.rows, c.dim});
    for (DataType dtype : {DataType::FLOAT32, DataType::BFLOAT16, DataType::BFLOAT8_B}) {
        Tensor out = embedding(input, weight4, {.layout = Layout::TILE, .dtype = dtype});
        EXPECT_EQ(out.dtype(), dtype);
        expect_exact(out, want);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Embedding,
    ::testing::Combine(::testing::ValuesIn(testing::all_formats()),
                       ::testing::Values(EmbeddingCase{1, 1, 1, 1}, EmbeddingCase{2, 31, 33, 31},
                                         EmbeddingCase{3, 33, 7, 33}, EmbeddingCase{1, 2011, 50, 64},
                                         EmbeddingCase{32, 1, 4096, 128})),
    [](const auto& info) {
        const EmbeddingCase& c = std::get<1>(info.param);
        return testing::format_name(std::get<0>(info.param)) + "_" + std::to_string(c.b) + "x" +
               std::to_string(c.s) + "_" + std::to_string(c.rows) + "x" + std::to_string(c.dim);
    });

// Any index shape: [d1, .., dn] -> [d1, .., dn, dim]; TT-NN's [b, 1, 1, s] -> [b, s, dim].
TEST(EmbeddingOptions, IndexShapes) {
    Tensor weight = random_tensor({12, 33}, {DataType::FLOAT32, Layout::TILE}, 20);
    const reference::Array table = reference::from_tensor(weight);
    struct ShapeCase {
        std::vector<uint32_t> in, out;
    };
    for (const ShapeCase& sc :
         {ShapeCase{{31}, {31}}, ShapeCase{{2, 3, 5}, {2, 3, 5}}, ShapeCase{{3, 1, 1, 33}, {3, 33}},
          ShapeCase{{2, 1, 3, 4}, {2, 1, 3, 4}}, ShapeCase{{1, 1, 1, 1, 7}, {1, 1, 1, 1, 7}}}) {
        const std::vector<int64_t> idx = random_indices(testing::volume(sc.in), 12, uint32_t(sc.in.size()));
        std::vector<int32_t> v(idx.begin(), idx.end());
        Tensor input = from_host(std::span<const int32_t>(v), Shape(sc.in), {.device = test_device()});
        for (Layout layout : {Layout::ROW_MAJOR, Layout::TILE})
            expect_exact(embedding(input, weight, {.layout = layout}),
                         reference::embedding(idx, sc.out, table));
    }
}

// padding_idx (TT-NN's pad_token) gives rows of zeros wherever it appears, and only there.
TEST(EmbeddingOptions, PaddingIndexGivesZeroRows) {
    const uint32_t b = 2, s = 33, rows = 9, dim = 40;
    std::vector<int64_t> idx = random_indices(std::size_t(b) * s, rows, 5);
    for (std::size_t i = 0; i < idx.size(); i += 4) idx[i] = 3;
    Tensor weight = random_tensor({rows, dim}, {DataType::BFLOAT16, Layout::TILE}, 6);
    const reference::Array want = reference::embedding(idx, {b, s}, reference::from_tensor(weight), 3);
    for (Layout layout : {Layout::ROW_MAJOR, Layout::TILE}) {
        Tensor out = embedding(index_tensor(idx, b, s, DataType::INT32, false), weight,
                               {.padding_idx = 3, .layout = layout});
        expect_exact(out, want);
        // PADDED names the same thing.
        expect_exact(
            embedding(index_tensor(idx, b, s, DataType::INT32, false), weight,
                      {.padding_idx = 3, .layout = layout, .embeddings_type = EmbeddingsType::PADDED}),
            want);
    }
}

TEST(EmbeddingOptions, BinaryTakesATwoRowTable) {
    const std::vector<int64_t> idx = {0, 1, 1, 0, 1};
    Tensor weight = random_tensor({2, 17}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 7);
    expect_exact(embedding(index_tensor(idx, 1, 5, DataType::UINT32, false), weight,
                           {.embeddings_type = EmbeddingsType::BINARY}),
                 reference::embedding(idx, {1, 5}, reference::from_tensor(weight)));
    Tensor three = random_tensor({3, 17}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 8);
    expect_error(
        [&] {
            embedding(index_tensor(idx, 1, 5, DataType::UINT32, false), three,
                      {.embeddings_type = EmbeddingsType::BINARY});
        },
        {"embedding", "BINARY needs a weight of 2 rows", "given weight.shape=Shape([3, 17])"});
}

TEST(EmbeddingErrors, BadInputsNameTheArgument) {
    Tensor weight = random_tensor({10, 16}, {DataType::BFLOAT16, Layout::ROW_MAJOR}, 9);
    Tensor good = index_tensor({1, 2, 3}, 1, 3, DataType::INT32, false);
    Tensor floats = random_tensor({1, 3}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 10);
    expect_error([&] { embedding(floats, weight); },
                 {"embedding", "input_tensor.dtype must be INT32 or UINT32", "FLOAT32"});
    expect_error(
        [&] {
            embedding(index_tensor({1, 2, 3, 4, 10, 5}, 2, 3, DataType::INT32, false), weight);
        },
        {"embedding", "input_tensor[1][1]=10", "out of range for a weight of 10 rows"});
    expect_error(
        [&] {
            embedding(index_tensor({1, -2, 3}, 1, 3, DataType::INT32, false), weight);
        },
        {"embedding", "input_tensor[0][1]=-2"});
    // -1 is no padding marker unless padding_idx says so (and a padding_idx is an index, >= 0).
    expect_error(
        [&] {
            embedding(index_tensor({1, -1, 3}, 1, 3, DataType::INT32, false), weight);
        },
        {"embedding", "input_tensor[0][1]=-1", "out of range"});
    expect_error([&] { embedding(good, weight, {.padding_idx = -1}); },
                 {"embedding", "padding_idx must be >= 0", "given -1"});
    // Past two dims the position is named by every index.
    expect_error(
        [&] {
            std::vector<int32_t> idx(2 * 3 * 4, 1);
            idx[1 * 12 + 2 * 4 + 3] = 12;
            embedding(from_host(std::span<const int32_t>(idx), Shape{2, 3, 4}, {.device = test_device()}),
                      weight);
        },
        {"embedding", "input_tensor[1][2][3]=12"});
    expect_error(
        [&] {
            embedding(index_tensor({1, 4000000000LL, 3}, 1, 3, DataType::UINT32, false), weight);
        },
        {"embedding", "input_tensor[0][1]=4000000000"});
    expect_error(
        [&] {
            embedding(good, random_tensor({2, 10, 16}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 11));
        },
        {"embedding", "weight must be [num_embeddings, dim]", "Shape([2, 10, 16])"});
    expect_error(
        [&] {
            embedding(good, index_tensor({1, 2}, 1, 2, DataType::INT32, false));
        },
        {"embedding", "weight"});
    expect_error([&] { embedding(good, weight, {.dtype = DataType::BFLOAT8_B}); },
                 {"embedding", "BFLOAT8_B exists only in Layout::TILE"});
    expect_error([&] { embedding(good, weight, {.embeddings_type = EmbeddingsType::PADDED}); },
                 {"embedding", "PADDED needs padding_idx"});
    expect_error(
        [&] {
            embedding(random_tensor({2, 3, 4}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 12), weight);
        },
        {"embedding"});
}

// plus_one adds 1 in the tensor's own storage: every handle sees it; INT32 wraps at its largest
// value, UINT32 too; skip_negative_entries leaves the -1s (skipped users) as they are.
TEST(PlusOne, AddsOneInPlace) {
    const std::vector<int32_t> start = {0, 5, -1, 31, INT32_MAX, -7, 2010};
    for (Layout layout : {Layout::ROW_MAJOR, Layout::TILE})
        for (bool skip : {false, true}) {
            Tensor t = from_host(std::span<const int32_t>(start), Shape{1, uint32_t(start.size())},
                                 {.layout = layout, .device = test_device()});
            Tensor alias = t;
            plus_one(t, {.skip_negative_entries = skip});
            std::vector<int32_t> want = start;
            for (int32_t& v : want)
                if (!(skip && v < 0)) v = int32_t(uint32_t(v) + 1u);
            EXPECT_EQ(to_host<int32_t>(alias), want) << "skip " << skip;
            EXPECT_EQ(want[4], INT32_MIN);
        }
    const std::vector<uint32_t> u = {0u, 7u, 0xFFFFFFFFu};
    Tensor t = from_host(std::span<const uint32_t>(u), Shape{3}, {.device = test_device()});
    plus_one(t, {.skip_negative_entries = true});  // no negative UINT32 entries
    EXPECT_EQ(to_host<uint32_t>(t), (std::vector<uint32_t>{1u, 8u, 0u}));
    Tensor f = random_tensor({1, 4}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 13);
    const std::vector<float> before = to_host<float>(f);
    expect_error([&] { plus_one(f); }, {"plus_one", "input_tensor.dtype must be INT32 or UINT32", "FLOAT32"});
    EXPECT_EQ(to_host<float>(f), before);
}

// copy writes input_a's values into input_b's storage, encoded in input_b's dtype and layout.
TEST(Copy, WritesIntoTheDestinationsStorage) {
    Tensor a = random_tensor({3, 33}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 14);
    for (Format f : testing::all_formats()) {
        Tensor b = random_tensor({3, 33}, f, 15);
        Tensor alias = b;
        const void* storage = b.buffer()->data;
        copy(a, b);
        EXPECT_EQ(b.buffer()->data, storage);
        EXPECT_EQ(b.dtype(), f.dtype);
        EXPECT_EQ(b.layout(), f.layout);
        expect_exact(alias, reference::from_tensor(a));
    }
    Tensor b = random_tensor({3, 32}, {DataType::FLOAT32, Layout::ROW_MAJOR}, 16);
    const std::vector<float> before = to_host<float>(b);
    expect_error([&] { copy(a, b); }, {"copy", "the shapes differ", "input_a.shape=Shape([3, 33])",
                                       "input_b.shape=Shape([3, 32])"});
    EXPECT_EQ(to_host<float>(b), before);
    copy(b, b);  // itself: nothing to do
    EXPECT_EQ(to_host<float>(b), before);
}

TEST(Copy, HostToDeviceTensor) {
    std::vector<int32_t> pos = {4, 9, -1};
    Tensor host = from_host(std::span<const int32_t>(pos), Shape{3});
    Tensor dev = from_host(std::span<const int32_t>(std::vector<int32_t>{0, 0, 0}), Shape{3},
                           {.device = test_device()});
    Tensor alias = dev;
    copy_host_to_device_tensor(host, dev);
    EXPECT_EQ(to_host<int32_t>(alias), pos);
    Tensor host_u = from_host(std::span<const uint32_t>(std::vector<uint32_t>{1u, 2u, 3u}), Shape{3});
    expect_error([&] { copy_host_to_device_tensor(host_u, dev); },
                 {"copy_host_to_device_tensor", "UINT32", "INT32", "must match"});
    Tensor other_host = from_host(std::span<const int32_t>(pos), Shape{3});
    expect_error([&] { copy_host_to_device_tensor(host, other_host); },
                 {"copy_host_to_device_tensor", "device_tensor is a host tensor"});
    Tensor dev_source = from_host(std::span<const int32_t>(std::vector<int32_t>{7, 7, 7}), Shape{3},
                                  {.device = test_device()});
    expect_error([&] { copy_host_to_device_tensor(dev_source, dev); },
                 {"copy_host_to_device_tensor", "host_tensor is on a device"});
    Tensor longer = from_host(std::span<const int32_t>(std::vector<int32_t>{1, 2, 3, 4}), Shape{4});
    expect_error([&] { copy_host_to_device_tensor(longer, dev); },
                 {"copy_host_to_device_tensor", "the shapes differ"});
    EXPECT_EQ(to_host<int32_t>(dev), pos);
}

}  // namespace
}  // namespace attnn

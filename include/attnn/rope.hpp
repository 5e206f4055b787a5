// RoPE cos/sin tables: the per-position angles p * f_k, with f_k = theta^(-2k / head_dim) and
// optionally Llama 3's frequency scaling, laid out for one of the two pairings the RoPE ops use.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "attnn/device.hpp"
#include "attnn/tensor.hpp"

namespace attnn {

// Which elements of a head rotate together.
enum class RopePairing {
    interleaved,  // (2k, 2k+1): Meta's Llama checkpoints; rotary_embedding_llama with its trans_mat
    rotate_half,  // (k, k + dh/2): Hugging Face checkpoints; rotary_embedding
};

enum class RopeScalingType { none, llama3 };

// Hugging Face's rope_scaling; llama3 as transformers' _compute_llama3_parameters: wavelengths
// 2*pi/f_k shorter than original_max_position_embeddings / high_freq_factor keep f_k, longer than
// original_max_position_embeddings / low_freq_factor get f_k / factor, and those between blend
// the two with smooth = (original / wavelength - low) / (high - low).
struct RopeScaling {
    RopeScalingType rope_type = RopeScalingType::none;
    double factor = 8.0;
    double low_freq_factor = 1.0;
    double high_freq_factor = 4.0;
    uint32_t original_max_position_embeddings = 8192;
};

struct RopeOptions {
    double theta = 10000.0;  // 500000 for Llama 3
    RopeScaling scaling = {};
    RopePairing pairing = RopePairing::interleaved;
};

// Host tables, row-major [max_position, head_dim]:
//   interleaved: cos[p][2k] = cos[p][2k + 1] = cos(p * f_k)
//   rotate_half: cos[p][k] = cos[p][k + dh/2] = cos(p * f_k)
// (sin likewise). Angles are computed in fp64 and stored as fp32.
struct RopeTables {
    uint32_t head_dim = 0;
    uint32_t max_position = 0;
    RopePairing pairing = RopePairing::interleaved;
    std::vector<float> cos, sin;
};

// The head_dim / 2 frequencies f_k, scaling applied.
std::vector<double> rope_frequencies(uint32_t head_dim, const RopeOptions& options = {});
RopeTables rope_tables(uint32_t head_dim, uint32_t max_position, const RopeOptions& options = {});

// How the device tensors are stored.
struct RopeTensorOptions {
    DataType dtype = DataType::FLOAT32;
    Layout layout = Layout::TILE;
    MemoryConfig memory_config = DRAM_MEMORY_CONFIG;
};

struct RopeTensors {
    Tensor cos, sin;
};

// The whole table as rotary_embedding's caches: [1, 1, max_position, head_dim].
RopeTensors rope_cache_tensors(const RopeTables& tables, Device& device,
                               const RopeTensorOptions& options = {});
// Prefill positions [start, start + length): [1, 1, length, head_dim].
RopeTensors rope_prefill_tensors(const RopeTables& tables, uint32_t start, uint32_t length, Device& device,
                                 const RopeTensorOptions& options = {});
// One position per user, for rotary_embedding_llama's decode mode: [1, b, 1, head_dim].
RopeTensors rope_decode_tensors(const RopeTables& tables, std::span<const uint32_t> positions, Device& device,
                                const RopeTensorOptions& options = {});

}  // namespace attnn

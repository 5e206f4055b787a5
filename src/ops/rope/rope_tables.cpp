// RoPE tables: frequencies (with Llama 3 scaling), the cos/sin rows per position, and the device
// tensors the RoPE ops take.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string_view>

#include "attnn/error.hpp"
#include "attnn/rope.hpp"

namespace attnn {

namespace {

void check_tables(std::string_view op, const RopeTables& tables) {
    ATTNN_CHECK(tables.head_dim > 0 &&
                    tables.cos.size() == std::size_t(tables.max_position) * tables.head_dim &&
                    tables.sin.size() == tables.cos.size(),
                op, "tables (head_dim=", tables.head_dim, ", max_position=", tables.max_position,
                ") must hold max_position * head_dim values in cos and sin, as rope_tables builds them");
}

// Table rows position(0), ..., position(count - 1) as cos/sin tensors of `shape`.
template <class Position>
RopeTensors gather_rows(const RopeTables& tables, std::size_t count, Position&& position, const Shape& shape,
                        Device& device, const RopeTensorOptions& options) {
    const std::size_t dh = tables.head_dim;
    std::vector<float> cos(count * dh), sin(count * dh);
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t p = position(i);
        std::copy_n(tables.cos.begin() + p * dh, dh, cos.begin() + i * dh);
        std::copy_n(tables.sin.begin() + p * dh, dh, sin.begin() + i * dh);
    }
    const TensorOptions to{.dtype = options.dtype,
                           .layout = options.layout,
                           .device = device,
                           .memory_config = options.memory_config};
    return {from_vector(cos, shape, to), from_vector(sin, shape, to)};
}

}  // namespace

std::vector<double> rope_frequencies(uint32_t head_dim, const RopeOptions& options) {
    const char* name = "rope_frequencies";
    ATTNN_CHECK(head_dim > 0 && head_dim % 2 == 0, name, "head_dim=", head_dim, " must be even and > 0");
    ATTNN_CHECK(options.theta > 0, name, "theta=", options.theta, " must be > 0");
    std::vector<double> frequencies(head_dim / 2);
    for (uint32_t k = 0; k < head_dim / 2; ++k) frequencies[k] = std::pow(options.theta, -2.0 * k / head_dim);
    const RopeScaling& s = options.scaling;
    if (s.rope_type == RopeScalingType::llama3) {
        ATTNN_CHECK(s.factor > 0, name, "scaling.factor=", s.factor, " must be > 0");
        ATTNN_CHECK(s.low_freq_factor > 0 && s.high_freq_factor > s.low_freq_factor, name,
                    "scaling.high_freq_factor=", s.high_freq_factor,
                    " must be > scaling.low_freq_factor=", s.low_freq_factor, " > 0");
        ATTNN_CHECK(s.original_max_position_embeddings > 0, name,
                    "scaling.original_max_position_embeddings=", s.original_max_position_embeddings,
                    " must be > 0");
        const double original = s.original_max_position_embeddings;
        const double low_freq_wavelength = original / s.low_freq_factor;
        const double high_freq_wavelength = original / s.high_freq_factor;
        for (double& f : frequencies) {
            const double wavelength = 2 * std::numbers::pi / f;
            if (wavelength < high_freq_wavelength) continue;  // high frequencies: unchanged
            if (wavelength > low_freq_wavelength) {
                f /= s.factor;  // low frequencies: stretched to the longer context
                continue;
            }
            const double smooth =
                (original / wavelength - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
            f = (1 - smooth) * f / s.factor + smooth * f;
        }
    }
    return frequencies;
}

RopeTables rope_tables(uint32_t head_dim, uint32_t max_position, const RopeOptions& options) {
    ATTNN_CHECK(max_position > 0, "rope_tables", "max_position=", max_position, " must be > 0");
    const std::vector<double> frequencies = rope_frequencies(head_dim, options);
    RopeTables tables{head_dim, max_position, options.pairing, {}, {}};
    tables.cos.resize(std::size_t(max_position) * head_dim);
    tables.sin.resize(tables.cos.size());
    const uint32_t half = head_dim / 2;
    for (uint32_t p = 0; p < max_position; ++p)
        for (uint32_t k = 0; k < half; ++k) {
            const double angle = double(p) * frequencies[k];
            const float c = float(std::cos(angle)), s = float(std::sin(angle));
            // The two elements that rotate together share the angle.
            const std::size_t a =
                std::size_t(p) * head_dim + (options.pairing == RopePairing::interleaved ? 2 * k : k);
            const std::size_t b = a + (options.pairing == RopePairing::interleaved ? 1 : half);
            tables.cos[a] = tables.cos[b] = c;
            tables.sin[a] = tables.sin[b] = s;
        }
    return tables;
}

// -> cos/sin [1, 1, max_position, head_dim]
RopeTensors rope_cache_tensors(const RopeTables& tables, Device& device, const RopeTensorOptions& options) {
    check_tables("rope_cache_tensors", tables);
    return gather_rows(
        tables, tables.max_position, [](std::size_t i) { return i; },
        {1, 1, tables.max_position, tables.head_dim}, device, options);
}

// -> cos/sin [1, 1, length, head_dim] for positions [start, start + length)
RopeTensors rope_prefill_tensors(const RopeTables& tables, uint32_t start, uint32_t length, Device& device,
                                 const RopeTensorOptions& options) {
    const char* name = "rope_prefill_tensors";
    check_tables(name, tables);
    ATTNN_CHECK(length > 0, name, "length=", length, " must be > 0");
    ATTNN_CHECK(uint64_t(start) + length <= tables.max_position, name, "positions [start=", start,
                ", start + length=", uint64_t(start) + length,
                ") must lie within max_position=", tables.max_position);
    return gather_rows(
        tables, length, [&](std::size_t i) { return start + i; }, {1, 1, length, tables.head_dim}, device,
        options);
}

// -> cos/sin [1, b, 1, head_dim], row u at positions[u]
RopeTensors rope_decode_tensors(const RopeTables& tables, std::span<const uint32_t> positions, Device& device,
                                const RopeTensorOptions& options) {
    const char* name = "rope_decode_tensors";
    check_tables(name, tables);
    ATTNN_CHECK(!positions.empty(), name, "positions must not be empty (one per user)");
    for (std::size_t u = 0; u < positions.size(); ++u)
        ATTNN_CHECK(positions[u] < tables.max_position, name, "positions[", u, "]=", positions[u],
                    " must be < max_position=", tables.max_position);
    return gather_rows(
        tables, positions.size(), [&](std::size_t i) { return std::size_t(positions[i]); },
        {1, uint32_t(positions.size()), 1, tables.head_dim}, device, options);
}

}  // namespace attnn

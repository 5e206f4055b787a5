// Argument conversions shared by the binding files.
#pragma once
#include <nanobind/ndarray.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attnn/attnn.hpp"
#include "bindings.hpp"

namespace attnn::python {

// A Shape, or a sequence of ints, as a Shape. With `infer_volume`, one dim may be -1 and is
// inferred so the volume matches (reshape).
Shape to_shape(nb::handle obj, const char* op, const char* arg, std::optional<uint64_t> infer_volume = {});

// An int argument bound for a uint32 (an index, a count): taken as any Python int, so that a
// negative or too large one is a ValueError naming op, argument, range and value (`what` says
// which kind) rather than nanobind's list of signatures.
inline uint32_t uint32_arg(int64_t value, const char* op, const char* arg, const char* what = "an index") {
    if (value < 0 || value > int64_t(UINT32_MAX))
        detail::fail(ErrorKind::InvalidArgument, op, arg, ": expected ", what, " in [0, 2^32), given ",
                     value);
    return uint32_t(value);
}
inline std::optional<uint32_t> uint32_arg(std::optional<int64_t> value, const char* op, const char* arg,
                                          const char* what = "an index") {
    if (!value) return std::nullopt;
    return uint32_arg(*value, op, arg, what);
}

// RoPE options from Python: theta, Hugging Face's rope_scaling dict (or None) and the pairing's
// name ('interleaved' or 'rotate_half'); and back (None where there is no scaling).
RopeOptions rope_options_from(double theta, nb::handle scaling, const std::string& pairing);
nb::object rope_scaling_dict(const RopeScaling& scaling);
std::string rope_pairing_name(RopePairing pairing);

// A numpy array of the given dims that owns `values`.
template <class T>
nb::object numpy_array(std::vector<T>&& values, const std::vector<size_t>& dims) {
    auto* owned = new std::vector<T>(std::move(values));
    nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
    return nb::ndarray<nb::numpy, T>(owned->data(), dims.size(), dims.data(), owner).cast();
}

}  // namespace attnn::python

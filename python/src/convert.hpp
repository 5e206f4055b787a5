// Argument conversions shared by the binding files.
#pragma once
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

}  // namespace attnn::python

// The whole public API.
#pragma once
#include "attnn/accuracy.hpp"
#include "attnn/device.hpp"
#include "attnn/error.hpp"
#include "attnn/npy.hpp"
#include "attnn/ops/data_movement.hpp"
#include "attnn/ops/eltwise.hpp"
#include "attnn/ops/matmul.hpp"
#include "attnn/ops/softmax.hpp"
#include "attnn/ops/transformer.hpp"
#include "attnn/random.hpp"
#include "attnn/tensor.hpp"
#include "attnn/types.hpp"

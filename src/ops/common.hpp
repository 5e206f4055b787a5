// Pieces every op uses: dim normalisation, per-worker scratch, and row-parallel loops over
// MatrixView rows (a row is one logical last-dim vector; row index = batch * rows + r).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "attnn/error.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"

namespace attnn::detail {

// dim in [-rank, rank) -> [0, rank); names the op and argument otherwise.
inline int normalize_dim(std::string_view op, std::string_view arg, int64_t dim, int rank) {
    ATTNN_CHECK(dim >= -rank && dim < rank, op, arg, "=", dim, " is out of range for a tensor of rank ", rank,
                " (expected [", -rank, ", ", rank - 1, "])");
    return int(dim < 0 ? dim + rank : dim);
}

inline void check_floating_point(std::string_view op, std::string_view arg, DataType dtype) {
    ATTNN_CHECK_TYPE(is_floating_point(dtype), op, arg, ".dtype=", dtype,
                     " is not a floating-point dtype (expected FLOAT32, BFLOAT16, BFLOAT8_B or BFLOAT4_B)");
}

// fp32 scratch owned by a program: `per_worker` floats for each of the device's workers, so a
// kernel never allocates on the hot path.
class WorkerScratch {
  public:
    WorkerScratch(int num_workers, int64_t per_worker)
        : per_worker_(per_worker), data_(std::size_t(num_workers) * std::size_t(per_worker)) {}
    float* get(int worker) { return data_.data() + int64_t(worker) * per_worker_; }

  private:
    int64_t per_worker_;
    std::vector<float> data_;
};

// Whether bf16 holds each of x[0, n) exactly (its low 16 bits are zero): such values meet
// bf16 dot products with exact products.
inline bool bf16_exact(const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        uint32_t bits;
        std::memcpy(&bits, x + i, 4);
        if (bits & 0xffffu) return false;
    }
    return true;
}

inline void read_row(const MatrixView& v, int64_t row, float* dst) {
    v.read(row / v.rows, row % v.rows, 0, v.cols, dst);
}
inline void write_row(const MatrixView& v, int64_t row, const float* src) {
    v.write(row / v.rows, row % v.rows, 0, v.cols, src);
}

// Runs fn(row_begin, row_end, worker) over [0, num_rows) on the device's workers. A task covers
// at least min_task_values values so that small ops run as one inline task (microsecond
// dispatch), and large ones still give every worker several tasks to balance load.
template <class F>
void parallel_rows(DeviceImpl& device, int64_t num_rows, int64_t values_per_row, F&& fn) {
    constexpr int64_t min_task_values = 16 * 1024;
    constexpr int64_t tasks_per_worker = 4;
    const int64_t workers = device.pool->size();
    int64_t rows_per_task =
        std::max<int64_t>((num_rows + workers * tasks_per_worker - 1) / (workers * tasks_per_worker),
                          (min_task_values + values_per_row - 1) / std::max<int64_t>(values_per_row, 1));
    rows_per_task = std::clamp<int64_t>(rows_per_task, 1, std::max<int64_t>(num_rows, 1));
    const int64_t num_tasks = (num_rows + rows_per_task - 1) / rows_per_task;
    device.pool->parallel_for(num_tasks, [&](int64_t task, int worker) {
        fn(task * rows_per_task, std::min(num_rows, (task + 1) * rows_per_task), worker);
    });
}

inline std::string to_string(const std::vector<int64_t>& values) {
    std::string s = "[";
    for (std::size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + std::to_string(values[i]);
    return s + "]";
}

}  // namespace attnn::detail

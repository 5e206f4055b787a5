#include "core/worker_pool.hpp"

#include <immintrin.h>

#include <exception>

#include "attnn/error.hpp"

namespace attnn::detail {

namespace {
thread_local bool inside_task = false;
// Spin this many polls before sleeping: long enough to catch the next op of a decode step,
// short enough not to burn a core while the host thread does something else.
constexpr int spin_polls = 4000;
}  // namespace

WorkerPool::WorkerPool(int num_workers) : num_workers_(num_workers < 1 ? 1 : num_workers) {
    try {
        threads_.reserve(std::size_t(num_workers_ - 1));
        for (int w = 1; w < num_workers_; ++w) threads_.emplace_back([this, w] { worker_loop(w); });
    } catch (const std::exception& e) {  // the system's thread or memory limits (system_error, bad_alloc)
        const std::size_t started = threads_.size();
        stop();
        fail(ErrorKind::Runtime, "open_device", "cannot start ", num_workers_ - 1, " worker threads (",
             started, " started, then: ", e.what(), "); ask for fewer num_workers");
    }
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

void WorkerPool::drain(int worker) {
    inside_task = true;
    for (;;) {
        int64_t t = next_task_.fetch_add(1, std::memory_order_relaxed);
        if (t >= job_tasks_) break;
        try {
            (*job_fn_)(t, worker);
        } catch (...) {
            std::lock_guard lock(error_mutex_);
            if (!error_) error_ = std::current_exception();
            next_task_.store(job_tasks_);
        }
    }
    inside_task = false;
}

void WorkerPool::worker_loop(int worker) {
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen = generation_.load(std::memory_order_acquire);
        for (int i = 0; gen == seen && i < spin_polls; ++i) {
            _mm_pause();
            gen = generation_.load(std::memory_order_acquire);
        }
        if (gen == seen) {
            generation_.wait(seen, std::memory_order_acquire);
            continue;
        }
        seen = gen;
        if (stop_.load()) return;
        if (worker < job_workers_) drain(worker);
        if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) busy_.notify_one();
    }
}

void WorkerPool::run(int64_t num_tasks, TaskFn fn, int max_workers) {
    if (num_tasks <= 0) return;
    int workers = max_workers > 0 && max_workers < num_workers_ ? max_workers : num_workers_;
    if (workers > num_tasks) workers = int(num_tasks);
    if (inside_task || workers == 1) {
        for (int64_t t = 0; t < num_tasks; ++t) fn(t, 0);
        return;
    }
    std::lock_guard run_lock(run_mutex_);
    job_fn_ = &fn;
    job_tasks_ = num_tasks;
    job_workers_ = workers;
    error_ = nullptr;
    next_task_.store(0, std::memory_order_relaxed);
    busy_.store(num_workers_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    drain(0);
    for (int i = 0; i < spin_polls; ++i) {
        if (busy_.load(std::memory_order_acquire) == 0) break;
        _mm_pause();
    }
    for (int b = busy_.load(std::memory_order_acquire); b != 0; b = busy_.load(std::memory_order_acquire))
        busy_.wait(b, std::memory_order_acquire);
    if (error_) std::rethrow_exception(error_);
}

}  // namespace attnn::detail

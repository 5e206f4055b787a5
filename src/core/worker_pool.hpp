// A fixed pool of worker threads that runs data-parallel loops with microsecond dispatch.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace attnn::detail {

// A non-owning reference to a callable void(int64_t task, int worker).
class TaskFn {
  public:
    template <class F>
    TaskFn(F& f) : obj_(&f), call_([](void* o, int64_t t, int w) { (*static_cast<F*>(o))(t, w); }) {}
    void operator()(int64_t task, int worker) const { call_(obj_, task, worker); }

  private:
    void* obj_;
    void (*call_)(void*, int64_t, int);
};

class WorkerPool {
  public:
    explicit WorkerPool(int num_workers);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    int size() const { return num_workers_; }

    // Runs fn(task, worker) for every task in [0, num_tasks) on at most max_workers workers
    // (0: all); the calling thread is worker 0. Returns when every task has run and rethrows
    // the first exception a task threw. Called from inside a task, it runs the loop inline.
    template <class F>
    void parallel_for(int64_t num_tasks, F&& fn, int max_workers = 0) {
        auto& f = fn;
        run(num_tasks, TaskFn(f), max_workers);
    }

  private:
    void run(int64_t num_tasks, TaskFn fn, int max_workers);
    void stop();  // stops and joins the workers
    void worker_loop(int worker);
    void drain(int worker);

    int num_workers_;
    std::vector<std::thread> threads_;
    // The current job; written by the caller before bumping generation_.
    TaskFn* job_fn_ = nullptr;
    int64_t job_tasks_ = 0;
    int job_workers_ = 0;
    std::atomic<int64_t> next_task_{0};
    std::atomic<int> busy_{0};
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stop_{false};
    std::mutex error_mutex_;
    std::exception_ptr error_;
    std::mutex run_mutex_;  // one job at a time
};

}  // namespace attnn::detail

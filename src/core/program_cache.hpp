// The program cache: built programs keyed by (op, attributes, input specs), as TT-NN's.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "attnn/tensor.hpp"
#include "kernels/kernels.hpp"

namespace attnn::detail {

// What an op builds once per (op, attributes, input specs): blocking, the split of work over
// workers, prepared constants and sized scratch. Ops derive from it.
struct Program {
    virtual ~Program() = default;
};

// The bytes a program depends on. Buffer addresses never enter it.
class ProgramKey {
  public:
    // Programs are built for the active SIMD path (blocking follows its register tiles), so the
    // path is part of every key.
    explicit ProgramKey(std::string_view op) : op_size_(op.size()) {
        add(op);
        add(kernels::table().isa);
    }
    ProgramKey& add(std::string_view s) {
        add(uint32_t(s.size()));
        bytes_.append(s);
        return *this;
    }
    template <class T>
    requires std::is_trivially_copyable_v<T> ProgramKey& add(const T& v) {
        bytes_.append(reinterpret_cast<const char*>(&v), sizeof(T));
        return *this;
    }
    ProgramKey& add(const Shape& s) {
        add(s.rank());
        for (uint32_t d : s.dims()) add(d);
        return *this;
    }
    // A tensor's spec: logical shape, dtype, layout, memory config.
    ProgramKey& add(const Tensor& t) {
        add(t.shape());
        add(t.dtype());
        add(t.layout());
        add(t.memory_config());
        return *this;
    }
    const std::string& bytes() const { return bytes_; }
    // The op's name, which the key starts with (after its length).
    std::string_view op() const { return std::string_view(bytes_).substr(sizeof(uint32_t), op_size_); }

  private:
    std::size_t op_size_;
    std::string bytes_;
};

class ProgramCache {
  public:
    std::shared_ptr<Program> find(const ProgramKey& key);
    void insert(const ProgramKey& key, std::shared_ptr<Program> program);
    void clear() { programs_.clear(); }
    std::size_t size() const { return programs_.size(); }
    bool enabled = false;
    std::size_t hits = 0;
    std::size_t misses = 0;

  private:
    std::unordered_map<std::string, std::shared_ptr<Program>> programs_;
};

}  // namespace attnn::detail

// attnn::Error: the one exception type attnn throws at its public boundary.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace attnn {

// What went wrong, so bindings can map it (Python: ValueError, TypeError, RuntimeError).
enum class ErrorKind {
    InvalidArgument,  // a shape, index or option out of range
    TypeMismatch,     // a dtype or layout the op does not take
    Runtime,          // device closed, tensor deallocated, file unreadable
};

class Error : public std::runtime_error {
  public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const noexcept { return kind_; }

  private:
    ErrorKind kind_;
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
    std::ostringstream os;
    (os << ... << parts);
    return os.str();
}

// Throws Error with "op: part part part". Messages name the op, the argument, what was
// expected and what was given: "matmul: a.shape[-1]=64 must equal b.shape[-2]=32".
template <class... Parts>
[[noreturn]] void fail(ErrorKind kind, std::string_view op, const Parts&... parts) {
    throw Error(kind, concat(op, ": ", parts...));
}
}  // namespace detail

}  // namespace attnn

// Public-boundary checks. `op` is the op's TT-NN name.
#define ATTNN_CHECK(cond, op, ...)                                                                \
    do {                                                                                          \
        if (!(cond)) ::attnn::detail::fail(::attnn::ErrorKind::InvalidArgument, op, __VA_ARGS__); \
    } while (0)
#define ATTNN_CHECK_TYPE(cond, op, ...)                                                        \
    do {                                                                                       \
        if (!(cond)) ::attnn::detail::fail(::attnn::ErrorKind::TypeMismatch, op, __VA_ARGS__); \
    } while (0)

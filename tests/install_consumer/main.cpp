// Opens the device and round-trips a tile through it, using only the installed headers.
#include <attnn/attnn.hpp>
#include <iostream>
#include <vector>

int main() {
    attnn::Device device = attnn::open_device(0);
    std::vector<float> values(32 * 32, 1.5f);
    attnn::Tensor t = attnn::from_host(std::span<const float>(values), attnn::Shape{32, 32},
                                       {.layout = attnn::Layout::TILE, .device = device});
    const bool ok = attnn::to_host<float>(t) == values;
    std::cout << "attnn consumer: " << device.num_workers() << " workers, " << device.isa() << ", round trip "
              << (ok ? "ok" : "FAILED") << '\n';
    attnn::close_device(device);
    return ok ? 0 : 1;
}

// How TT-NN measures agreement between a golden result and a computed one.
#pragma once
#include <vector>

namespace attnn {

// Pearson correlation of the flattened values, as TT-NN's comp_pcc: NaN and inf are zeroed
// first; two constant tensors agree only if both are constant. 1.0 means perfect agreement.
double comp_pcc(const std::vector<double>& golden, const std::vector<double>& calculated);

}  // namespace attnn

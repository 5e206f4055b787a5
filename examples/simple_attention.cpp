// Seed 003, "A Very Simple Attention Mechanism": attention without trainable weights over the
// six 3-d embeddings of "Your journey starts with one step". First for the query "journey"
// alone, then for every token at once with matmul -> softmax -> matmul.
#include <cstdio>

#include "seeds.hpp"
#include "support.hpp"

namespace attnn::examples {

nlohmann::json simple_attention(Device& device) {
    const std::vector<float> embeddings = {
        0.43f, 0.15f, 0.89f,  // Your     (x^1)
        0.55f, 0.87f, 0.66f,  // journey  (x^2)
        0.57f, 0.85f, 0.64f,  // starts   (x^3)
        0.22f, 0.58f, 0.33f,  // with     (x^4)
        0.77f, 0.25f, 0.10f,  // one      (x^5)
        0.05f, 0.80f, 0.55f,  // step     (x^6)
    };
    const TensorOptions on_device{.dtype = DataType::FLOAT32, .layout = Layout::TILE, .device = device};
    Tensor context = from_host(std::span<const float>(embeddings), Shape{6, 3}, on_device);
    nlohmann::json out;
    auto show = [&](const char* name, const Tensor& t) {
        std::vector<float> v = to_host<float>(t);
        std::printf("%s\n%s\n\n", name, torch_format(v, t.shape().to_vector()).c_str());
        out[name] = v;
    };

    // One query: the attention scores of "journey" are its dot products with every token.
    Tensor query = from_host(std::span<const float>(embeddings).subspan(3, 3), Shape{1, 3}, on_device);
    Tensor attn_scores = reshape(matmul(query, context, {.transpose_b = true}), Shape{6});
    show("attn_scores", attn_scores);
    Tensor attn_weights = softmax(attn_scores, -1);
    show("attn_weights", attn_weights);
    float sum = 0;
    for (float w : to_host<float>(attn_weights)) sum += w;
    std::printf("attn_weights.sum()\n%s\n\n", torch_format({sum}, {}).c_str());
    out["attn_weights_sum"] = sum;
    // The context vector: the embeddings weighted by the attention weights.
    Tensor context_vec = reshape(matmul(reshape(attn_weights, Shape{1, 6}), context), Shape{3});
    show("context_vec", context_vec);

    // Every token as a query at once.
    Tensor all_scores = matmul(context, context, {.transpose_b = true});
    show("attn_scores_all", all_scores);
    Tensor all_weights = softmax(all_scores, -1);
    show("attn_weights_all", all_weights);
    Tensor context_vecs = matmul(all_weights, context);
    show("context_vecs", context_vecs);
    return out;
}

}  // namespace attnn::examples

// scaled_dot_product_attention: FlashAttention-2 (Dao, 2023) on the CPU, following the work split
// of tt-metal's tech_reports/FlashAttention/FlashAttention.md.
//
// One task is one Q chunk of one KV head's query group: the nqh/nkv query heads that share a KV
// head are stacked into one taller block of rows, so every K/V byte decoded for the chunk serves
// the whole group (GQA/MQA without copying K or V). For each K/V chunk:
//   S = (scale Q) K^T                         [rows, kc]   microkernel, Q unpacked, K^T packed
//   S += mask, or -inf above the diagonal      (causal: only on chunks that cross it)
//   m_new = max(m, rowmax S); P = exp(S - m_new); l = l e^(m - m_new) + rowsum P
//   O = O e^(m - m_new) + P V                  [rows, dh]   microkernel, P unpacked, V packed
// and at the end O / l. Nothing grows with sq x sk: scratch is one chunk of each, per worker.
// Causal: K chunks past the diagonal are skipped, and a task takes chunk i together with chunk
// n-1-i so every task does the same work.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "attnn/error.hpp"
#include "attnn/ops/sdpa.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "kernels/kernels.hpp"

namespace attnn::transformer {

namespace {

using detail::MatrixView;

constexpr int64_t target_rows = 128;   // stacked query rows per task: S and O blocks stay in L2
constexpr int64_t default_k_chunk = 256;  // K and V chunks (256 x dh fp32) fit L2 beside S and O

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

struct SdpaProgram : detail::Program {
    int64_t batch = 0, nqh = 0, nkv = 0, group = 0, sq = 0, sk = 0, dh = 0;
    bool causal = false, approx = false;
    int64_t mask_b = 0, mask_h = 0;  // mask dims (0: no mask)
    int64_t qc = 0, kc = 0, q_chunks = 0, units = 0, tasks = 0;
    int mr = 0, nr = 0, workers = 1;
    int64_t rows_max = 0, dh_pad = 0, kc_pad = 0;
    struct Scratch {
        std::vector<float> q, s, o, kpack, vpack, m, l, row;
    };
    std::vector<Scratch> scratch;
};

struct Inputs {
    MatrixView q, k, v, out, mask;
    bool has_mask;
    float scale;
};

// One Q chunk `chunk` of KV head `kvh` of batch `bi`, all `group` query heads stacked.
void attend_chunk(const SdpaProgram& p, SdpaProgram::Scratch& s, const Inputs& in, int64_t bi, int64_t kvh,
                  int64_t chunk) {
    const auto& kt = kernels::table();
    const int mr = p.mr, nr = p.nr;
    const int64_t dh = p.dh, q0 = chunk * p.qc, qn = std::min(p.qc, p.sq - q0);
    const int64_t rows = p.group * qn, rows_pad = round_up(rows, mr);
    const int64_t s_ld = p.kc_pad, o_ld = p.dh_pad;
    const int64_t offset = p.sk - p.sq;  // causal: query i sits at key position i + offset
    auto row_head = [&](int64_t r) { return kvh * p.group + r / qn; };
    auto row_pos = [&](int64_t r) { return q0 + r % qn; };

    float* q = s.q.data();
    for (int64_t r = 0; r < rows; ++r) {
        in.q.read(bi * p.nqh + row_head(r), row_pos(r), 0, dh, q + r * dh);
        kt.scale(q + r * dh, dh, in.scale);
    }
    std::fill(q + rows * dh, q + rows_pad * dh, 0.0f);
    std::fill(s.o.begin(), s.o.begin() + rows_pad * o_ld, 0.0f);
    std::fill(s.m.begin(), s.m.begin() + rows, -INFINITY);
    std::fill(s.l.begin(), s.l.begin() + rows, 0.0f);

    // Causal: the last row of the chunk sees keys up to q0 + qn - 1 + offset.
    const int64_t k_end = p.causal ? std::min(p.sk, q0 + qn + offset) : p.sk;
    for (int64_t k0 = 0; k0 < k_end; k0 += p.kc) {
        const int64_t kn = std::min(p.kc, k_end - k0), kn_pad = round_up(kn, nr);
        const int64_t kv_matrix = bi * p.nkv + kvh;
        // K^T as panels of nr keys: kpack[(j / nr)][d][j % nr].
        float* kpack = s.kpack.data();
        for (int64_t j = 0; j < kn_pad; ++j) {
            float* dst = kpack + (j / nr) * dh * nr + j % nr;
            if (j < kn) {
                in.k.read(kv_matrix, k0 + j, 0, dh, s.row.data());
                for (int64_t d = 0; d < dh; ++d) dst[d * nr] = s.row[std::size_t(d)];
            } else {
                for (int64_t d = 0; d < dh; ++d) dst[d * nr] = 0.0f;
            }
        }
        float* sb = s.s.data();
        for (int64_t ir = 0; ir < rows_pad; ir += mr)
            for (int64_t jr = 0; jr < kn_pad; jr += nr)
                kt.gemm_kernel_rows(dh, q + ir * dh, dh, kpack + (jr / nr) * dh * nr, sb + ir * s_ld + jr, s_ld, false);

        const bool crosses_diagonal = p.causal && k0 + kn - 1 > q0 + offset;
        for (int64_t r = 0; r < rows; ++r) {
            float* srow = sb + r * s_ld;
            if (in.has_mask) {
                int64_t head = row_head(r);
                int64_t mm = (p.mask_b == 1 ? 0 : bi) * p.mask_h + (p.mask_h == 1 ? 0 : head);
                in.mask.read(mm, row_pos(r), k0, kn, s.row.data());
                for (int64_t j = 0; j < kn; ++j) srow[j] += s.row[std::size_t(j)];
            }
            if (crosses_diagonal) {
                int64_t last = row_pos(r) + offset - k0;  // last visible key in this chunk
                for (int64_t j = std::max<int64_t>(last + 1, 0); j < kn; ++j) srow[j] = -INFINITY;
            }
            float m_old = s.m[std::size_t(r)];
            float m_new = std::max(m_old, kt.row_max(srow, kn));
            if (m_new == -INFINITY) {  // every key so far masked: nothing to add
                std::fill(srow, srow + kn_pad, 0.0f);
                continue;
            }
            float sum = p.approx ? kt.exp_sub_sum_approx(srow, kn, m_new) : kt.exp_sub_sum(srow, kn, m_new);
            std::fill(srow + kn, srow + kn_pad, 0.0f);
            float alpha = m_old == -INFINITY ? 0.0f : std::exp(m_old - m_new);
            s.l[std::size_t(r)] = s.l[std::size_t(r)] * alpha + sum;
            s.m[std::size_t(r)] = m_new;
            if (alpha != 1.0f) kt.scale(s.o.data() + r * o_ld, dh, alpha);
        }
        for (int64_t r = rows; r < rows_pad; ++r) std::fill(sb + r * s_ld, sb + r * s_ld + kn_pad, 0.0f);

        // V as panels of nr head-dim columns: vpack[(d / nr)][j][d % nr].
        float* vpack = s.vpack.data();
        for (int64_t j = 0; j < kn; ++j) {
            in.v.read(kv_matrix, k0 + j, 0, dh, s.row.data());
            std::fill(s.row.begin() + dh, s.row.begin() + p.dh_pad, 0.0f);
            for (int64_t c = 0; c < p.dh_pad / nr; ++c)
                std::memcpy(vpack + c * p.kc * nr + j * nr, s.row.data() + c * nr, std::size_t(nr) * 4);
        }
        for (int64_t ir = 0; ir < rows_pad; ir += mr)
            for (int64_t c = 0; c < p.dh_pad / nr; ++c)
                kt.gemm_kernel_rows(kn, sb + ir * s_ld, s_ld, vpack + c * p.kc * nr, s.o.data() + ir * o_ld + c * nr,
                                    o_ld, true);
    }
    for (int64_t r = 0; r < rows; ++r) {
        float* orow = s.o.data() + r * o_ld;
        float l = s.l[std::size_t(r)];
        kt.scale(orow, dh, l > 0 ? 1.0f / l : 0.0f);  // l == 0: every key masked -> zeros
        in.out.write(bi * p.nqh + row_head(r), row_pos(r), 0, dh, orow);
    }
}

void validate(const Tensor& q, const Tensor& k, const Tensor& v, const SDPAOptions& o) {
    const char* op = "scaled_dot_product_attention";
    for (auto [t, name] : {std::pair{&q, "q"}, {&k, "k"}, {&v, "v"}}) {
        ATTNN_CHECK(t->shape().rank() == 4, op, name, " must be 4-d [b, heads, s, dh], given ", name,
                    ".shape=", t->shape());
        ATTNN_CHECK_TYPE(is_floating_point(t->dtype()), op, name, ".dtype must be a floating-point type, given ",
                         to_string(t->dtype()));
    }
    ATTNN_CHECK(k.shape() == v.shape(), op, "k and v must have the same shape, given k.shape=", k.shape(),
                ", v.shape=", v.shape());
    ATTNN_CHECK(q.shape()[0] == k.shape()[0], op, "batch differs: q.shape[0]=", q.shape()[0],
                " but k.shape[0]=", k.shape()[0]);
    ATTNN_CHECK(q.shape()[3] == k.shape()[3], op, "head dim differs: q.shape[3]=", q.shape()[3],
                " but k.shape[3]=", k.shape()[3]);
    ATTNN_CHECK(q.shape()[1] % k.shape()[1] == 0, op, "q.shape[1]=", q.shape()[1],
                " must be a multiple of k.shape[1]=", k.shape()[1]);
    ATTNN_CHECK(!(o.is_causal && o.attn_mask), op,
                "is_causal=true and attn_mask exclude each other; pass is_causal=false with a mask");
    if (o.is_causal)
        ATTNN_CHECK(q.shape()[2] <= k.shape()[2], op, "causal attention needs sq <= sk (queries are the last sq "
                    "positions), given q.shape[2]=", q.shape()[2], ", k.shape[2]=", k.shape()[2]);
    if (o.attn_mask) {
        const Shape& m = o.attn_mask->shape();
        ATTNN_CHECK(m.rank() == 4 && (m[0] == 1 || m[0] == q.shape()[0]) && (m[1] == 1 || m[1] == q.shape()[1]) &&
                        m[2] == q.shape()[2] && m[3] == k.shape()[2],
                    op, "attn_mask must be [b or 1, nqh or 1, sq, sk] = [", q.shape()[0], ", ", q.shape()[1], ", ",
                    q.shape()[2], ", ", k.shape()[2], "], given ", m);
        ATTNN_CHECK_TYPE(is_floating_point(o.attn_mask->dtype()), op,
                         "attn_mask.dtype must be a floating-point type, given ", to_string(o.attn_mask->dtype()));
    }
    if (o.scale) ATTNN_CHECK(std::isfinite(*o.scale), op, "scale must be finite, given ", *o.scale);
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const SDPAOptions& options) {
    const char* op = "scaled_dot_product_attention";
    detail::DeviceImpl& device =
        options.attn_mask ? detail::require_device(op, {{&q, "q"}, {&k, "k"}, {&v, "v"}, {&*options.attn_mask, "attn_mask"}})
                          : detail::require_device(op, {{&q, "q"}, {&k, "k"}, {&v, "v"}});
    validate(q, k, v, options);
    std::lock_guard lock(device.op_mutex);
    const SDPAProgramConfig config = options.program_config.value_or(SDPAProgramConfig{});
    int workers = device.pool->size();
    if (config.compute_with_storage_grid_size)
        workers = std::clamp<int>(int(config.compute_with_storage_grid_size->num_cores()), 1, workers);

    detail::ProgramKey key(op);
    key.add(q).add(k).add(v).add(options.is_causal).add(bool(options.attn_mask));
    if (options.attn_mask) key.add(*options.attn_mask);
    key.add(config.q_chunk_size).add(config.k_chunk_size).add(config.exp_approx_mode).add(workers);
    auto program = device.program<SdpaProgram>(key, [&] {
        auto p = std::make_shared<SdpaProgram>();
        const auto& kt = kernels::table();
        p->batch = q.shape()[0], p->nqh = q.shape()[1], p->nkv = k.shape()[1], p->sq = q.shape()[2];
        p->sk = k.shape()[2], p->dh = q.shape()[3], p->group = p->nqh / p->nkv;
        p->causal = options.is_causal, p->approx = config.exp_approx_mode;
        if (options.attn_mask) p->mask_b = options.attn_mask->shape()[0], p->mask_h = options.attn_mask->shape()[1];
        p->mr = kt.gemm_mr, p->nr = kt.gemm_nr, p->workers = workers;
        p->qc = config.q_chunk_size ? config.q_chunk_size
                                    : std::clamp<int64_t>(target_rows / p->group, 8, std::max<int64_t>(p->sq, 8));
        p->qc = std::min(p->qc, p->sq);
        p->kc = std::min<int64_t>(config.k_chunk_size ? config.k_chunk_size : default_k_chunk, p->sk);
        p->q_chunks = ceil_div(p->sq, p->qc);
        p->units = p->causal ? ceil_div(p->q_chunks, 2) : p->q_chunks;  // causal: chunk i with chunk n-1-i
        p->tasks = p->batch * p->nkv * p->units;
        p->rows_max = round_up(p->group * p->qc, p->mr);
        p->dh_pad = round_up(p->dh, p->nr);
        p->kc_pad = round_up(p->kc, p->nr);
        p->scratch.resize(std::size_t(workers));
        for (auto& s : p->scratch) {
            s.q.assign(std::size_t(p->rows_max * p->dh), 0.0f);
            s.s.assign(std::size_t(p->rows_max * p->kc_pad), 0.0f);
            s.o.assign(std::size_t(p->rows_max * p->dh_pad), 0.0f);
            s.kpack.assign(std::size_t(p->kc_pad * p->dh), 0.0f);
            s.vpack.assign(std::size_t(p->dh_pad * p->kc), 0.0f);
            s.m.assign(std::size_t(p->rows_max), 0.0f);
            s.l.assign(std::size_t(p->rows_max), 0.0f);
            s.row.assign(std::size_t(std::max(p->dh_pad, p->kc_pad) + 64), 0.0f);
        }
        return p;
    });
    Tensor out = detail::allocate_tensor(q.shape(), q.dtype(), q.layout(), options.memory_config.value_or(q.memory_config()),
                                         q.device_impl(), op);
    Inputs in{detail::matrix_view(q, op), detail::matrix_view(k, op), detail::matrix_view(v, op),
              detail::matrix_view(out, op), {}, bool(options.attn_mask),
              options.scale.value_or(1.0f / std::sqrt(float(q.shape()[3])))};
    if (options.attn_mask) in.mask = detail::matrix_view(*options.attn_mask, op);
    const SdpaProgram& p = *program;
    device.pool->parallel_for(
        p.tasks,
        [&](int64_t t, int worker) {
            SdpaProgram::Scratch& s = program->scratch[std::size_t(worker)];
            const int64_t unit = t % p.units, kvh = (t / p.units) % p.nkv, bi = t / (p.units * p.nkv);
            attend_chunk(p, s, in, bi, kvh, unit);
            if (p.causal && p.q_chunks - 1 - unit != unit) attend_chunk(p, s, in, bi, kvh, p.q_chunks - 1 - unit);
        },
        workers);
    return out;
}

}  // namespace attnn::transformer

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
// n-1-i so every task does the same work. A sliding window skips the K chunks before the Q
// chunk's first window too, and masks its lower edge as the diagonal masks the upper one. An
// attention sink joins each row's softmax at the end: O / (l + e^(sink - m)).
#include "attnn/ops/sdpa.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attnn/error.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "kernels/kernels.hpp"
#include "ops/kv_cache/kv_layout.hpp"
#include "ops/transformer/attention_variants.hpp"

namespace attnn::transformer {

namespace {

using detail::MatrixView;

constexpr int64_t target_rows = 256;  // stacked query rows per task: each K/V chunk decoded serves them all,
                                      // and S^T (256 x 256) and O^T (dh x 256) still fit L2
constexpr int64_t default_k_chunk = 256;  // K and V chunks (256 x dh fp32) fit L2 beside S and O

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

struct SdpaProgram : detail::Program {
    int64_t batch = 0, nqh = 0, nkv = 0, group = 0, sq = 0, sk = 0, dh = 0;
    bool causal = false, approx = false;
    int64_t window = 0;              // causal sliding window in keys (0: none)
    int64_t mask_b = 0, mask_h = 0;  // mask dims (0: no mask)
    int64_t qc = 0, kc = 0, q_chunks = 0, units = 0, tasks = 0;
    int mr = 0, nr = 0, workers = 1;
    int64_t rows_pad = 0;  // stacked query rows per task, padded to whole nr-query panels
    int64_t q_ld = 0;      // row stride of Q (and O) rows: the tensor's padded row
    int64_t k_ld = 0, v_ld = 0;  // K and V chunk row strides: the cache's padded rows
    struct Scratch {
        std::vector<float> rows, qt, kbuf, vbuf, st, ot, m, l, alpha, row;
        std::vector<int64_t> last;  // per half of a query panel: its furthest query position; then
                                    // (at 2 panels + pnl) per panel its earliest
        std::vector<int64_t> seen;  // per query panel: the keys of the chunk it sees, (at panels +
                                    // pnl) the keys both its halves see, and (at 2 panels + pnl)
                                    // the first keys below every one of its windows
    };
    std::vector<Scratch> scratch;
};

struct Inputs {
    MatrixView q, k, v, out, mask;
    bool has_mask;
    float scale;
    detail::KvLayout layout;  // contiguous k/v, or a paged cache (chunked prefill)
    std::vector<float> sinks;  // per query head (empty: none)
};

// Whether rows [0, n) of m (width w, stride ld) hold only finite values.
bool all_finite(const float* m, int64_t n, int64_t w, int64_t ld) {
    uint32_t seen = 0;  // the exponent bits every value has: all set only for Inf and NaN
    for (int64_t j = 0; j < n; ++j)
        for (int64_t d = 0; d < w; ++d) {
            uint32_t bits;
            std::memcpy(&bits, m + j * ld + d, sizeof bits);
            seen |= (bits & 0x7f800000u) == 0x7f800000u;
        }
    return seen == 0;
}

// One Q chunk `chunk` of KV head `kvh` of batch `bi`, all `group` query heads stacked: row
// r = h * qn + i is query q0 + i of head kvh * group + h.
//
// The scores are computed transposed, S^T = K (scale Q)^T, one key per row: then K and V
// enter the microkernel exactly as decoded (row-major chunks, no packing or transposing),
// only Q^T is packed, once per chunk, and the softmax runs down the columns of S^T with plain
// vertical vector ops. S^T is stored as panels of nr queries, which is the packed-B layout the
// second product O^T += V^T P^T reads directly.
void attend_chunk(const SdpaProgram& p, SdpaProgram::Scratch& s, const Inputs& in, int64_t bi, int64_t kvh,
                  int64_t chunk) {
    const auto& kt = kernels::table();
    const int mr = p.mr, nr = p.nr;
    const int64_t dh = p.dh, q0 = chunk * p.qc, qn = std::min(p.qc, p.sq - q0);
    const int64_t rows = p.group * qn, rows_pad = round_up(rows, nr), panels = rows_pad / nr;
    const int64_t kc = p.kc, q_ld = p.q_ld, k_ld = p.k_ld, v_ld = p.v_ld;
    const int64_t offset = p.sk - p.sq;  // causal: query i sits at key position i + offset
    const int64_t head0 = bi * p.nqh + kvh * p.group;  // the group's first query head (matrix index)

    // Q rows as decoded, then Q^T in panels of nr queries, qt[panel][d][query % nr], scaled.
    float* qrows = s.rows.data();
    for (int64_t h = 0; h < p.group; ++h) in.q.read_rows(head0 + h, q0, qn, qrows + h * qn * q_ld, q_ld);
    float* qt = s.qt.data();
    int64_t *last = s.last.data(), *earliest = last + 2 * panels;
    const int64_t half = nr / 2;
    auto furthest = [&](int64_t ra, int64_t rb) { return ra / qn != rb / qn ? q0 + qn - 1 : q0 + rb % qn; };
    for (int64_t pnl = 0; pnl < panels; ++pnl) {
        const int64_t r0 = pnl * nr, n = std::min<int64_t>(nr, rows - r0);
        float* dst = qt + pnl * dh * nr;
        kt.transpose(qrows + r0 * q_ld, q_ld, n, dh, in.scale, dst, nr);
        if (n < nr)  // padding queries: zeros, so their columns stay finite
            for (int64_t d = 0; d < dh; ++d) std::fill(dst + d * nr + n, dst + (d + 1) * nr, 0.0f);
        // Each half's furthest query (a half of padding alone goes with the other half).
        last[2 * pnl] = furthest(r0, r0 + std::min(half, n) - 1);
        last[2 * pnl + 1] = n > half ? furthest(r0 + half, r0 + n - 1) : last[2 * pnl];
        earliest[pnl] = r0 / qn != (r0 + n - 1) / qn ? q0 : q0 + r0 % qn;  // a new head starts at q0
    }
    std::fill(s.m.begin(), s.m.begin() + rows_pad, -INFINITY);
    std::fill(s.l.begin(), s.l.begin() + rows_pad, 0.0f);
    float* ot = s.ot.data();

    // Causal: the last row of the chunk sees keys up to q0 + qn - 1 + offset; with a window, the
    // first row sees keys from q0 + offset - window + 1 on.
    const int64_t k_end = p.causal ? std::min(p.sk, q0 + qn + offset) : p.sk;
    const int64_t k_begin = p.window ? std::clamp<int64_t>(q0 + offset - p.window + 1, 0, k_end) : 0;
    if (k_end <= k_begin) std::fill(ot, ot + dh * rows_pad, 0.0f);
    for (int64_t k0 = k_begin; k0 < k_end; k0 += kc) {
        const int64_t kn = std::min(kc, k_end - k0);
        const bool first = k0 == k_begin;  // O^T is written, not accumulated
        float* kbuf = s.kbuf.data();
        float* vbuf = s.vbuf.data();
        in.layout.read(in.k, bi, kvh, k0, kn, kbuf, k_ld);
        in.layout.read(in.v, bi, kvh, k0, kn, vbuf, v_ld);
        const int64_t next = std::min(kc, k_end - (k0 + kn));  // start loading the next chunk
        in.layout.prefetch(in.k, bi, kvh, k0 + kn, next);
        in.layout.prefetch(in.v, bi, kvh, k0 + kn, next);

        // Causal: panel pnl's queries see at most the chunk's first seen[pnl] keys; the keys
        // past them are all masked, so neither product computes them (a diagonal chunk costs
        // about half a full one), and of those keys both halves of the panel compute the first
        // both[pnl], only the half that sees further (wide_half) the rest. The microkernels
        // take exactly the rows asked for, so neither the keys nor dh are padded.
        // A window: the first below[pnl] keys lie before every window of the panel, so neither
        // product computes them, nor does the softmax look at them (P is taken as 0 there).
        int64_t *seen = s.seen.data(), *both = seen + panels, *below = seen + 2 * panels;
        auto wide_half = [&](int64_t pnl) { return last[2 * pnl + 1] >= last[2 * pnl] ? half : 0; };
        for (int64_t pnl = 0; pnl < panels; ++pnl) {
            auto sees = [&](int64_t pos) { return p.causal ? std::clamp<int64_t>(pos + offset - k0 + 1, 0, kn) : kn; };
            const int64_t a = sees(last[2 * pnl]), b = sees(last[2 * pnl + 1]);
            seen[pnl] = std::max(a, b), both[pnl] = std::min(a, b);
            below[pnl] =
                p.window ? std::clamp<int64_t>(earliest[pnl] + offset - p.window + 1 - k0, 0, both[pnl]) : 0;
        }
        float* st = s.st.data();
        for (int64_t pnl = 0; pnl < panels; ++pnl) {
            const float* qp = qt + pnl * dh * nr;
            float* sp = st + pnl * kc * nr;
            for (int64_t ir = below[pnl]; ir < both[pnl]; ir += mr)
                kt.gemm_kernel_rows(int(std::min<int64_t>(mr, both[pnl] - ir)), dh, kbuf + ir * k_ld, k_ld, qp,
                                    sp + ir * nr, nr, false);
            for (int64_t ir = both[pnl]; ir < seen[pnl]; ir += mr)
                kt.gemm_kernel_rows_half(int(std::min<int64_t>(mr, seen[pnl] - ir)), dh, kbuf + ir * k_ld, k_ld,
                                         qp + wide_half(pnl), sp + ir * nr + wide_half(pnl), nr, false);
        }

        auto column = [&](int64_t r) { return st + (r / nr) * kc * nr + r % nr; };  // query r's scores
        if (in.has_mask) {
            for (int64_t h = 0; h < p.group; ++h) {
                const int64_t head = kvh * p.group + h;
                const int64_t mm = (p.mask_b == 1 ? 0 : bi) * p.mask_h + (p.mask_h == 1 ? 0 : head);
                for (int64_t i = 0; i < qn; ++i) {
                    in.mask.read(mm, q0 + i, k0, kn, s.row.data());
                    float* col = column(h * qn + i);
                    for (int64_t j = 0; j < kn; ++j) col[j * nr] += s.row[std::size_t(j)];
                }
            }
        }
        // Row r (query q0 + r % qn) sees the chunk's keys below past_diagonal(r) (causal) and from
        // past_diagonal(r) - window on (a window); keys past the panel's `seen` are never read.
        auto past_diagonal = [&](int64_t r) { return q0 + r % qn + offset - k0 + 1; };
        const bool crosses_diagonal = p.causal && k0 + kn - 1 > q0 + offset;
        const bool window_inside =
            p.window && k0 < q0 + qn + offset - p.window;  // the last row's starts past k0
        auto hide = [&](int64_t r, int64_t from, int64_t to) {  // row r's scores of keys [from, to)
            float* col = column(r);
            for (int64_t j = std::max<int64_t>(from, 0); j < to; ++j) col[j * nr] = -INFINITY;
        };
        if (crosses_diagonal)  // (this also covers the keys past both[] that a narrow half never computed)
            for (int64_t r = 0; r < rows; ++r) hide(r, past_diagonal(r), seen[r / nr]);
        if (window_inside)
            for (int64_t r = 0; r < rows; ++r)
                hide(r, below[r / nr], std::min(past_diagonal(r) - p.window, seen[r / nr]));
        for (int64_t pnl = 0; pnl < panels; ++pnl) {
            float* a = s.alpha.data() + pnl * nr;
            kt.softmax_panel(st + (pnl * kc + below[pnl]) * nr, seen[pnl] - below[pnl], s.m.data() + pnl * nr,
                             s.l.data() + pnl * nr, a, p.approx);
        }
        // Rescale what O^T holds by alpha, then O^T += V^T P^T.
        if (!first)
            for (int64_t d = 0; d < dh; ++d)
                kt.binary(kernels::BinaryOp::multiply, ot + d * rows_pad, s.alpha.data(), ot + d * rows_pad,
                          rows_pad);
        // A query's P is 0 at the keys its causality or window hides, and the panel's product
        // would meet an Inf or NaN in V there as 0 x Inf = NaN: a chunk with hidden keys and a
        // non-finite V takes each row's own keys alone (slow, and only for such chunks), so keys
        // a query cannot see never count, as in flash decode.
        if ((crosses_diagonal || window_inside) && !all_finite(vbuf, kn, dh, v_ld)) {
            for (int64_t r = 0; r < rows_pad; ++r) {
                const int64_t pnl = r / nr, c = r % nr;
                int64_t jlo = below[pnl], jhi = r < rows ? seen[pnl] : 0;  // padding rows: zeros
                if (p.causal) jhi = std::min(jhi, past_diagonal(r));
                if (p.window) jlo = std::max(jlo, past_diagonal(r) - p.window);
                const float* pr = st + pnl * kc * nr + c;
                for (int64_t d = 0; d < dh; ++d) {
                    float acc = first ? 0.0f : ot[d * rows_pad + r];
                    for (int64_t j = jlo; j < jhi; ++j) acc += vbuf[j * v_ld + d] * pr[j * nr];
                    ot[d * rows_pad + r] = acc;
                }
            }
            continue;
        }
        for (int64_t pnl = 0; pnl < panels; ++pnl) {
            if (seen[pnl] == 0) {
                if (first)
                    for (int64_t d = 0; d < dh; ++d) std::fill_n(ot + d * rows_pad + pnl * nr, nr, 0.0f);
                continue;
            }
            const int64_t lo = both[pnl], wide = wide_half(pnl), skip = below[pnl];  // P is 0 below `skip`
            for (int64_t id = 0; id < dh; id += mr) {
                const int rn = int(std::min<int64_t>(mr, dh - id));
                float* op = ot + id * rows_pad + pnl * nr;
                kt.gemm_kernel_cols(rn, lo - skip, vbuf + skip * v_ld + id, v_ld, st + (pnl * kc + skip) * nr,
                                    op, rows_pad, !first);
                if (seen[pnl] > lo)  // the wide half's further keys (P of the narrow half is 0 there)
                    kt.gemm_kernel_cols_half(rn, seen[pnl] - lo, vbuf + lo * v_ld + id, v_ld,
                                             st + (pnl * kc + lo) * nr + wide, op + wide, rows_pad, true);
            }
        }
    }
    // O = (O^T)^T / l (with the head's sink, / (l + e^(sink - m))); a query whose keys were all
    // masked has l = 0 and gets zeros.
    float* inv = s.alpha.data();
    for (int64_t r = 0; r < rows_pad; ++r) {
        const float* sink =
            r < rows && !in.sinks.empty() ? &in.sinks[std::size_t(kvh * p.group + r / qn)] : nullptr;
        inv[r] = detail::row_normaliser(s.l[std::size_t(r)], s.m[std::size_t(r)], sink);
    }
    for (int64_t d = 0; d < dh; ++d)
        kt.binary(kernels::BinaryOp::multiply, ot + d * rows_pad, inv, ot + d * rows_pad, rows_pad);
    kt.transpose(ot, rows_pad, dh, rows, 1.0f, qrows, q_ld);
    for (int64_t h = 0; h < p.group; ++h) in.out.write_rows(head0 + h, q0, qn, qrows + h * qn * q_ld, q_ld);
}

void validate(const Tensor& q, const Tensor& k, const Tensor& v, const SDPAOptions& o) {
    const char* op = "scaled_dot_product_attention";
    for (auto [t, name] : {std::pair{&q, "q"}, {&k, "k"}, {&v, "v"}}) {
        ATTNN_CHECK(t->shape().rank() == 4, op, name, " must be 4-d [b, heads, s, dh], given ", name,
                    ".shape=", t->shape());
        ATTNN_CHECK_TYPE(is_floating_point(t->dtype()), op, name,
                         ".dtype must be a floating-point type, given ", to_string(t->dtype()));
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
        ATTNN_CHECK(q.shape()[2] <= k.shape()[2], op,
                    "causal attention needs sq <= sk (queries are the last sq "
                    "positions), given q.shape[2]=",
                    q.shape()[2], ", k.shape[2]=", k.shape()[2]);
    if (o.attn_mask) {
        const Shape& m = o.attn_mask->shape();
        ATTNN_CHECK(m.rank() == 4 && (m[0] == 1 || m[0] == q.shape()[0]) &&
                        (m[1] == 1 || m[1] == q.shape()[1]) && m[2] == q.shape()[2] && m[3] == k.shape()[2],
                    op, "attn_mask must be [b or 1, nqh or 1, sq, sk] = [", q.shape()[0], ", ", q.shape()[1],
                    ", ", q.shape()[2], ", ", k.shape()[2], "], given ", m);
        ATTNN_CHECK_TYPE(is_floating_point(o.attn_mask->dtype()), op,
                         "attn_mask.dtype must be a floating-point type, given ",
                         to_string(o.attn_mask->dtype()));
    }
    if (o.scale) ATTNN_CHECK(std::isfinite(*o.scale), op, "scale must be finite, given ", *o.scale);
}

// The shared body: `sk` keys per user, found through `layout`.
Tensor run_sdpa(const char* op, detail::DeviceImpl& device, const Tensor& q, const Tensor& k, const Tensor& v,
                const SDPAOptions& options, int64_t sk, detail::KvLayout layout) {
    const int64_t window = detail::sliding_window(op, options.sliding_window_size, options.is_causal);
    const float scale = options.scale.value_or(1.0f / std::sqrt(float(q.shape()[3])));
    std::vector<float> sinks = detail::attention_sinks(op, options.attention_sink, q, q.shape()[1], scale);
    auto lock = device.lock(op);
    const SDPAProgramConfig config = options.program_config.value_or(SDPAProgramConfig{});
    const int workers = detail::attention_workers(op, config, device.pool->size());

    detail::ProgramKey key(op);
    key.add(q).add(k).add(v).add(sk).add(options.is_causal).add(window).add(bool(options.attn_mask));
    if (options.attn_mask) key.add(*options.attn_mask);
    key.add(config.q_chunk_size).add(config.k_chunk_size).add(config.exp_approx_mode).add(workers);
    auto program = device.program<SdpaProgram>(key, [&] {
        auto p = std::make_shared<SdpaProgram>();
        const auto& kt = kernels::table();
        p->batch = q.shape()[0], p->nqh = q.shape()[1], p->nkv = k.shape()[1], p->sq = q.shape()[2];
        p->sk = sk, p->dh = q.shape()[3], p->group = p->nqh / p->nkv;
        p->causal = options.is_causal, p->approx = config.exp_approx_mode, p->window = window;
        if (options.attn_mask)
            p->mask_b = options.attn_mask->shape()[0], p->mask_h = options.attn_mask->shape()[1];
        p->mr = kt.gemm_mr, p->nr = kt.gemm_nr, p->workers = workers;
        p->qc = config.q_chunk_size
                    ? config.q_chunk_size
                    : std::clamp<int64_t>(target_rows / p->group, 8, std::max<int64_t>(p->sq, 8));
        p->qc = std::min(p->qc, p->sq);
        p->kc = std::min<int64_t>(config.k_chunk_size ? config.k_chunk_size : default_k_chunk, p->sk);
        p->q_chunks = ceil_div(p->sq, p->qc);
        p->units = p->causal ? ceil_div(p->q_chunks, 2) : p->q_chunks;  // causal: chunk i with chunk n-1-i
        p->tasks = p->batch * p->nkv * p->units;
        p->rows_pad = round_up(p->group * p->qc, p->nr);
        p->q_ld = std::max<int64_t>(p->dh, q.padded_shape()[3]);
        p->k_ld = std::max<int64_t>(p->dh, k.padded_shape()[3]);
        p->v_ld = std::max<int64_t>(p->dh, v.padded_shape()[3]);
        p->scratch.resize(std::size_t(workers));
        for (auto& s : p->scratch) {
            s.rows.assign(std::size_t(p->rows_pad * p->q_ld), 0.0f);
            s.qt.assign(std::size_t(p->rows_pad * p->dh), 0.0f);
            s.kbuf.assign(std::size_t(p->kc * p->k_ld), 0.0f);
            s.vbuf.assign(std::size_t(p->kc * p->v_ld), 0.0f);
            s.st.assign(std::size_t(p->rows_pad * p->kc), 0.0f);
            s.ot.assign(std::size_t(p->dh * p->rows_pad), 0.0f);
            s.m.assign(std::size_t(p->rows_pad), 0.0f);
            s.l.assign(std::size_t(p->rows_pad), 0.0f);
            s.alpha.assign(std::size_t(p->rows_pad), 0.0f);
            s.last.assign(std::size_t(3 * p->rows_pad / p->nr), 0);
            s.seen.assign(std::size_t(3 * p->rows_pad / p->nr), 0);
            s.row.assign(std::size_t(std::max(p->dh, p->kc) + 64), 0.0f);
        }
        return p;
    });

    Tensor out =
        detail::allocate_tensor(q.shape(), q.dtype(), q.layout(),
                                options.memory_config.value_or(q.memory_config()), q.device_impl(), op);
    Inputs in{detail::matrix_view(q, op),
              detail::matrix_view(k, op),
              detail::matrix_view(v, op),
              detail::matrix_view(out, op),
              {},
              bool(options.attn_mask),
              scale,
              std::move(layout),
              std::move(sinks)};
    if (options.attn_mask) in.mask = detail::matrix_view(*options.attn_mask, op);
    const SdpaProgram& p = *program;
    device.pool->parallel_for(
        p.tasks,
        [&](int64_t t, int worker) {
            SdpaProgram::Scratch& s = program->scratch[std::size_t(worker)];
            const int64_t unit = t % p.units, kvh = (t / p.units) % p.nkv, bi = t / (p.units * p.nkv);
            attend_chunk(p, s, in, bi, kvh, unit);
            if (p.causal && p.q_chunks - 1 - unit != unit)
                attend_chunk(p, s, in, bi, kvh, p.q_chunks - 1 - unit);
        },
        workers);
    return out;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const SDPAOptions& options) {
    const char* op = "scaled_dot_product_attention";
    detail::DeviceImpl& device =
        options.attn_mask ? detail::require_device(
                                op, {{&q, "q"}, {&k, "k"}, {&v, "v"}, {&*options.attn_mask, "attn_mask"}})
                          : detail::require_device(op, {{&q, "q"}, {&k, "k"}, {&v, "v"}});
    validate(q, k, v, options);
    return run_sdpa(op, device, q, k, v, options, k.shape()[2], detail::KvLayout::contiguous(k));
}

Tensor chunked_scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                            const Tensor& page_table, uint32_t chunk_start_idx,
                                            const ChunkedSDPAOptions& options) {
    const char* op = "chunked_scaled_dot_product_attention";
    detail::DeviceImpl& device =
        detail::require_device(op, {{&q, "q"}, {&k, "k"}, {&v, "v"}, {&page_table, "page_table"}});
    for (auto [t, name] : {std::pair{&q, "q"}, {&k, "k"}, {&v, "v"}}) {
        ATTNN_CHECK(t->shape().rank() == 4, op, name, " must be 4-d, given ", name, ".shape=", t->shape());
        ATTNN_CHECK_TYPE(is_floating_point(t->dtype()), op, name,
                         ".dtype must be a floating-point type, given ", to_string(t->dtype()));
    }
    ATTNN_CHECK(k.shape() == v.shape(), op, "k and v must have the same shape, given k.shape=", k.shape(),
                ", v.shape=", v.shape());
    ATTNN_CHECK(q.shape()[3] == k.shape()[3], op, "head dim differs: q.shape[3]=", q.shape()[3],
                " but k.shape[3]=", k.shape()[3]);
    ATTNN_CHECK(q.shape()[1] % k.shape()[1] == 0, op, "q.shape[1]=", q.shape()[1],
                " must be a multiple of k.shape[1]=", k.shape()[1]);
    auto lock = device.lock(op);  // the page table read as written (the op locks again)
    detail::KvLayout layout = detail::KvLayout::paged(k, page_table, op);
    ATTNN_CHECK(layout.users() >= q.shape()[0], op, "page_table.shape[0]=", layout.users(),
                " must cover q.shape[0]=", q.shape()[0], " users");
    const int64_t sk = int64_t(chunk_start_idx) + q.shape()[2];
    // The keys read: from the first query's window on (every key without a window).
    const uint32_t window = options.sliding_window_size.value_or(0);
    const int64_t first = window ? std::max<int64_t>(0, int64_t(chunk_start_idx) - window + 1) : 0;
    for (int64_t user = 0; user < q.shape()[0]; ++user)
        layout.check_positions(op, "chunk_start_idx + q.shape[2]", user, first, sk - 1);
    SDPAOptions o{.is_causal = true,
                  .scale = options.scale,
                  .sliding_window_size = options.sliding_window_size,
                  .attention_sink = options.attention_sink,
                  .program_config = options.program_config,
                  .memory_config = options.memory_config};
    return run_sdpa(op, device, q, k, v, o, sk, std::move(layout));
}

}  // namespace attnn::transformer

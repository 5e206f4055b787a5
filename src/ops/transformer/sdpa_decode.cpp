// Flash decode (tt-metal tech_reports/FlashAttention/FlashDecode.md): one new query per user.
//
// A unit of work is one user's KV head with every query head that shares it (so each K/V byte
// is read once); over a paged cache, a group of a user's KV heads advanced together a chunk
// at a time, since a block holds its heads side by side. When units leave workers idle, each
// unit's positions are split into up to max_cores_per_head_batch parts; a part returns
// (m, l, O) over its keys and the parts merge exactly: m = max(m1, m2),
// l = e^(m1-m) l1 + e^(m2-m) l2, O likewise, out = O / l.
// Keys are processed in chunks: score all heads against the K chunk, update the online softmax,
// accumulate the V chunk. A TILE cache is read straight from its tiles, each face row decoded
// into registers and used at once by every head of the group (kernels' tile_scores /
// tile_accumulate); a ROW_MAJOR one (FLOAT32 or BFLOAT16) is copied a chunk at a time into tile
// bands first, and the same kernels read those. A sliding window reads only the window's keys
// (chunks stay on the grid of multiples of k_chunk_size, the first one partial); an attention
// sink joins each row's softmax when the row is finished: O / (l + e^(sink - m)).
#include "attnn/ops/sdpa_decode.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "attnn/error.hpp"
#include "core/buffer.hpp"
#include "core/device_impl.hpp"
#include "core/tensor_access.hpp"
#include "kernels/kernels.hpp"
#include "ops/common.hpp"
#include "ops/kv_cache/kv_layout.hpp"
#include "ops/transformer/attention_variants.hpp"

namespace attnn::transformer {

namespace {

using detail::KvLayout;
using detail::MatrixView;

constexpr int64_t default_k_chunk = 128;    // keys per softmax step (a ROW_MAJOR cache: 128 rows of K and V in L2)
constexpr int64_t min_keys_per_part = 256;  // below this, splitting a sequence costs more than it saves
constexpr int64_t lane_align = 16;          // dh padded for the widest vector
constexpr int64_t prefetch_keys = 128;      // how far ahead of the keys in use a TILE cache is prefetched

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// A part of the work: keys [begin, end) of KV heads [h0, h1) of `user`.
struct Part {
    int64_t user = 0, h0 = 0, h1 = 1, begin = 0, end = 0;
};

// Where a part's (O, m, l) go: rows of `group` per KV head.
struct PartOut {
    float *o = nullptr, *m = nullptr, *l = nullptr;
};

struct DecodeProgram : detail::Program {
    int64_t users = 0, nqh = 0, nkv = 0, group = 0, dh = 0, dh_pad = 0, kc = 0, max_parts = 1;
    int k_format = 0, v_format = 0;  // kernels' tile formats of K and V
    int64_t k_tile_bytes = 0, v_tile_bytes = 0;
    // A ROW_MAJOR cache's rows are copied into tile bands first: their bytes (0: a TILE cache).
    int64_t k_stage_bytes = 0, v_stage_bytes = 0;
    int workers = 1;
    bool approx = false;
    // A paged cache: a part takes several KV heads of its user, advancing them together.
    bool heads_together = false;
    struct Scratch {
        std::vector<float> q, s, row, work;
        std::unique_ptr<detail::Buffer> kstage, vstage;  // those bands (null: a TILE cache)
        std::vector<float> m_new, sum;  // a chunk's softmax step: per query row of the KV head
        std::vector<uint16_t> qb;  // q laid out in bf16 for the bf16 dot-product kernel
        std::vector<uint8_t> q8;   // q rounded to int8, for the int8 dot-product kernel
        std::vector<PartOut> out;  // where the current part's heads write
        std::vector<uint8_t> bf16_dot;  // per head of the part: its scores and P V on bf16 dot products
    };
    std::vector<Scratch> scratch;
    // Partial results per (user, KV head, part): group x (dh_pad outputs, m, l).
    std::vector<float> partial_o, partial_m, partial_l;
};

struct Job {
    MatrixView q, k, v, out, mask;
    KvLayout layout;
    bool causal = true, has_mask = false;
    bool q8_every_residual = false;  // HiFi3 / HiFi4: int8 q keeps every face row's residual
    float scale = 1.0f;
    std::vector<int64_t> start, length;  // keys [start, length) per user (length 0: skipped)
    std::vector<float> sinks;            // per query head (empty: none)
    int64_t parts = 1;
};

// Keys [begin, end) of KV heads [h0, h1) of the part's user: writes each head's (O, m, l) for
// its group of query heads into out[kvh - h0]. Heads advance together, a chunk at a time
// (chunk c of every head, then chunk c + 1): a paged cache keeps a block's KV heads side by side,
// so the reads then run through whole blocks rather than one head's slice of each. `next` (if
// not null) is the part this worker takes next; its first keys were prefetched by the part
// before if `warm`, and this part prefetches them in turn as its own keys run out.
void attend_part(const DecodeProgram& p, DecodeProgram::Scratch& s, const Job& job, const Part& part,
                 const Part* next, bool warm, const PartOut* out) {
    const auto& kt = kernels::table();
    const int64_t g = p.group, dh = p.dh, dhp = p.dh_pad, user = part.user;
    const int64_t k_begin = part.begin, k_end = part.end, heads = part.h1 - part.h0;
    // A BFLOAT16 cache met by a query that bf16 holds exactly (a BFLOAT16 q, as TT-NN's decode
    // takes it) runs on bf16 dot products where the CPU has them; otherwise fp32 products.
    // A BFLOAT8_B K cache meets q rounded to int8 per face row (the precision its own
    // mantissas have; with the residual where math fidelity asks) on int8 dot products where
    // the CPU has them. The scale goes into q first (each face row's int8 scale absorbs it), so
    // those scores come out scaled.
    // Each head decides for itself, so its output does not depend on the heads it is grouped with.
    const bool q8_dot = p.k_format == 2 && kernels::has_int8_dot();
    const bool bf16_cache = p.k_format == 1 && p.v_format == 1 && kernels::has_bf16_dot();
    for (int64_t i = 0; i < heads; ++i) {
        float* q = s.q.data() + i * g * dhp;  // unscaled (the scale multiplies the scores), but see q8_dot
        for (int64_t h = 0; h < g; ++h) {
            job.q.read(user, (part.h0 + i) * g + h, 0, dh, q + h * dhp);  // q [1, b, nqh, dh]: matrix `user`
            std::fill(q + h * dhp + dh, q + (h + 1) * dhp, 0.0f);
        }
        s.bf16_dot[std::size_t(i)] = bf16_cache && detail::bf16_exact(q, g * dhp);
        if (s.bf16_dot[std::size_t(i)])
            kt.pack_q_bf16(q, g, dhp, dh, s.qb.data() + i * kernels::qbf16_words(g, dhp));
        if (q8_dot) {
            kt.scale(q, g * dhp, job.scale);
            kt.quantize_q8(q, g, dhp, dh, job.q8_every_residual, s.q8.data() + i * kernels::q8_bytes(g, dhp));
        }
        std::fill(out[i].o, out[i].o + g * dhp, 0.0f);
        std::fill(out[i].m, out[i].m + g, -INFINITY);
        std::fill(out[i].l, out[i].l + g, 0.0f);
    }
    // The first keys' loads all at once (the loop below then keeps a step ahead): a part
    // starting cold would otherwise wait on its first bands one miss at a time.
    const int64_t first_keys = std::min(prefetch_keys, k_end - k_begin);
    if (!warm) {
        job.layout.prefetch(job.k, user, part.h0, k_begin, first_keys);
        job.layout.prefetch(job.v, user, part.h0, k_begin, first_keys);
    }
    // Positions [first, first + n) of KV head kvh, one band run at a time: fn(band, offset).
    // Each band carries where the kernel is to prefetch: the same keys of the head that comes
    // next, or the keys prefetch_keys further on where the part has one head (a chunk apart
    // either way). Decode is a stream over the cache, and loads spread over the arithmetic keep
    // the memory busy while the cores compute (a burst per chunk queues behind itself: 12 GB/s
    // against 21-29 here). A ROW_MAJOR cache's rows are copied into tile bands at `stage` first,
    // a band at a time (each band into the same one where fn is done with it on return, as the
    // scores are: it then stays in L1), and the kernel prefetches a band's bytes from the first
    // row it will copy later (those rows, near enough: where dh is not a multiple of 32, or a
    // block is shorter than a band, some bytes past them).
    auto for_each_band = [&](const MatrixView& cache, int format, int64_t tile_bytes, uint8_t* stage,
                             bool one_stage, int64_t kvh, int64_t first, int64_t n, auto&& fn) {
        auto start_of = [&](int64_t u, int64_t h, int64_t position) {
            if (!stage) return job.layout.band_run(cache, u, h, position, 1).band;
            auto [matrix, row] = job.layout.locate(u, h, position);
            return reinterpret_cast<const uint8_t*>(cache.element(matrix, row, 0));
        };
        const bool next_head = heads > 1 && kvh + 1 < part.h1;
        const int64_t ahead_kvh = next_head ? kvh + 1 : part.h0;
        const int64_t band_bytes = ceil_div(dh, TILE_WIDTH) * tile_bytes;
        for (int64_t j = 0; j < n;) {
            kernels::TileBand band{format, nullptr, tile_bytes, dh, 0, 0, nullptr};
            if (stage) {
                uint8_t* staged = stage + (one_stage ? 0 : j / TILE_HEIGHT * band_bytes);
                band.tiles = staged, band.n = std::min<int64_t>(TILE_HEIGHT, n - j);
                job.layout.stage_tiles(cache, user, kvh, first + j, band.n, staged);
            } else {
                auto run = job.layout.band_run(cache, user, kvh, first + j, n - j);
                band.tiles = run.band, band.row = run.row, band.n = run.n;
            }
            const int64_t ahead = next_head ? first + j : first + j + (heads > 1 ? p.kc : prefetch_keys);
            if (ahead < k_end)
                band.ahead = start_of(user, ahead_kvh, ahead);
            else if (next && next->begin + (ahead - k_end) < next->end)  // the next part's first keys
                band.ahead = start_of(next->user, next->h0, next->begin + (ahead - k_end));
            fn(band, j);
            j += band.n;
        }
    };
    auto staged = [](const std::unique_ptr<detail::Buffer>& b) {
        return b ? reinterpret_cast<uint8_t*>(b->data) : nullptr;
    };
    uint8_t *kstage = staged(s.kstage), *vstage = staged(s.vstage);
    for (int64_t k0 = k_begin, kn = 0; k0 < k_end; k0 += kn) {
        kn = std::min((k0 / p.kc + 1) * p.kc, k_end) - k0;  // chunks on the grid of multiples of kc
        for (int64_t i = 0; i < heads; ++i) {
            const int64_t kvh = part.h0 + i;
            const float* q = s.q.data() + i * g * dhp;
            const uint16_t* qb = s.qb.data() + i * kernels::qbf16_words(g, dhp);
            const uint8_t* q8 = s.q8.data() + i * kernels::q8_bytes(g, dhp);
            float *o = out[i].o, *m = out[i].m, *l = out[i].l;
            float* sc = s.s.data();
            const bool bf16_dot = s.bf16_dot[std::size_t(i)];
            // A BFLOAT8_B V cache on bf16 dot products: p rounded to bf16, as for a BFLOAT16 cache.
            const bool v_bf16 = bf16_dot || (p.v_format == 2 && kernels::has_bf16_dot(2));
            for_each_band(job.k, p.k_format, p.k_tile_bytes, kstage, true, kvh, k0, kn,
                          [&](const kernels::TileBand& band, int64_t j) {
                              if (bf16_dot)
                                  kt.tile_scores_bf16(band, qb, g, sc + j, p.kc);
                              else if (q8_dot)
                                  kt.tile_scores_q8(band, q8, g, sc + j, p.kc);
                              else
                                  kt.tile_scores(band, q, g, dhp, sc + j, p.kc, s.work.data());
                          });
            // Scores scaled (q8 scores come out scaled), masked, then the chunk's softmax step
            // for all g rows in one call.
            float scale = q8_dot ? 1.0f : job.scale;
            if (job.has_mask) {
                for (int64_t h = 0; h < g; ++h) {
                    float* srow = sc + h * p.kc;
                    if (scale != 1.0f) kt.scale(srow, kn, scale);
                    job.mask.read(user, kvh * g + h, k0, kn, s.row.data());  // mask [1, b, nqh, s]
                    for (int64_t j = 0; j < kn; ++j) srow[j] += s.row[std::size_t(j)];
                }
                scale = 1.0f;
            }
            float* m_new = s.m_new.data();
            float* sum = s.sum.data();
            kt.softmax_rows(sc, p.kc, g, kn, scale, m, m_new, sum, p.approx);
            for (int64_t h = 0; h < g; ++h) {
                if (m_new[h] == -INFINITY) continue;  // every key so far masked: p = 0
                const float alpha = m[h] == -INFINITY ? 0.0f : m[h] == m_new[h] ? 1.0f : std::exp(m[h] - m_new[h]);
                l[h] = l[h] * alpha + sum[h];
                m[h] = m_new[h];
                if (alpha != 1.0f) kt.scale(o + h * dhp, dhp, alpha);
            }
            if (v_bf16) {
                // The chunk's band runs go to the kernel together (up to max_bands at a time): its
                // accumulators then stay in registers from the first run to the last.
                kernels::TileBand bands[kernels::max_bands];
                int64_t nb = 0, first = 0;
                auto flush = [&] {
                    if (nb) kt.tile_accumulate_bf16(bands, nb, sc + first, p.kc, g, o, dhp, s.work.data());
                    nb = 0;
                };
                for_each_band(job.v, p.v_format, p.v_tile_bytes, vstage, false, kvh, k0, kn,
                              [&](const kernels::TileBand& band, int64_t j) {
                                  if (nb == 0) first = j;
                                  bands[nb++] = band;
                                  if (nb == kernels::max_bands) flush();
                              });
                flush();
            } else {
                for_each_band(job.v, p.v_format, p.v_tile_bytes, vstage, false, kvh, k0, kn,
                              [&](const kernels::TileBand& band, int64_t j) {
                                  kt.tile_accumulate(band, sc + j, p.kc, g, o, dhp, s.work.data());
                              });
            }
        }
    }
}

Tensor run_decode(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* page_table,
                  const SDPADecodeOptions& options) {
    std::vector<std::pair<const Tensor*, const char*>> args = {{&q, "q"}, {&k, "k"}, {&v, "v"}};
    detail::DeviceImpl& device =
        page_table ? detail::require_device(op, {{&q, "q"}, {&k, "k"}, {&v, "v"}, {page_table, "page_table"}})
                   : detail::require_device(op, {{&q, "q"}, {&k, "k"}, {&v, "v"}});
    if (options.attn_mask)  // on q's device, and named in the error when it is not usable
        detail::require_device(op, {{&q, "q"}, {&*options.attn_mask, "attn_mask"}});
    // From before the page table and cur_pos_tensor are read: a concurrent plus_one or copy into
    // them is seen whole.
    auto lock = device.lock(op);
    for (auto [t, name] : args) {
        ATTNN_CHECK(t->shape().rank() == 4, op, name, " must be 4-d, given ", name, ".shape=", t->shape());
        ATTNN_CHECK_TYPE(is_floating_point(t->dtype()), op, name,
                         ".dtype must be a floating-point type, given ", to_string(t->dtype()));
    }
    ATTNN_CHECK(q.shape()[0] == 1, op, "q must be [1, b, nqh, dh], given q.shape=", q.shape());
    ATTNN_CHECK(k.shape() == v.shape(), op, "k and v must have the same shape, given k.shape=", k.shape(),
                ", v.shape=", v.shape());
    const int64_t b = q.shape()[1], nqh = q.shape()[2], dh = q.shape()[3], nkv = k.shape()[1];
    ATTNN_CHECK(k.shape()[3] == uint32_t(dh), op, "head dim differs: q.shape[3]=", dh,
                " but k.shape[3]=", k.shape()[3]);
    ATTNN_CHECK(nqh % nkv == 0, op, "q.shape[2]=", nqh,
                " (query heads) must be a multiple of k.shape[1]=", nkv, " (KV heads)");
    KvLayout layout = page_table ? KvLayout::paged(k, *page_table, op) : KvLayout::contiguous(k);
    ATTNN_CHECK(layout.users() >= b, op, page_table ? "page_table.shape[0]=" : "k.shape[0]=", layout.users(),
                " must cover the b=", b, " users of q");

    Job job;
    job.causal = options.is_causal;
    job.has_mask = bool(options.attn_mask);
    ATTNN_CHECK(!(job.causal && job.has_mask), op,
                "is_causal=true and attn_mask exclude each other; pass is_causal=false with a mask");
    std::vector<int32_t> positions = options.cur_pos;
    if (options.cur_pos_tensor) {
        ATTNN_CHECK(options.cur_pos.empty(), op, "give cur_pos or cur_pos_tensor, not both");
        positions =
            detail::read_index_vector(*options.cur_pos_tensor, op, "cur_pos_tensor", q.device_impl().get());
    }
    job.length.assign(std::size_t(b), layout.capacity());
    job.start.assign(std::size_t(b), 0);
    const int64_t window = detail::sliding_window(op, options.sliding_window_size, job.causal);
    if (job.causal) {
        ATTNN_CHECK(int64_t(positions.size()) == b, op,
                    "causal decode needs one position per user: cur_pos has ", positions.size(),
                    " entries, q has b=", b);
        for (int64_t i = 0; i < b; ++i) {
            const int64_t pos = positions[std::size_t(i)];  // 64 bits: INT32_MAX + 1 is checked, not wrapped
            ATTNN_CHECK(pos >= -1, op, "cur_pos[", i, "]=", pos, " must be >= -1 (-1 skips the user)");
            job.length[std::size_t(i)] = pos + 1;
            if (window) job.start[std::size_t(i)] = std::max<int64_t>(0, pos + 1 - window);
            if (pos >= 0)
                layout.check_positions(op, "cur_pos", i, job.start[std::size_t(i)], pos);  // the keys read
        }
    } else {
        ATTNN_CHECK(job.has_mask, op, "non-causal decode needs attn_mask [1, b, nqh, s]");
        ATTNN_CHECK(positions.empty() && !options.cur_pos_tensor, op,
                    "cur_pos and cur_pos_tensor are read by causal decode only; is_causal=false reads "
                    "attn_mask, so pass no positions");
        const Shape& ms = options.attn_mask->shape();
        ATTNN_CHECK(ms.rank() == 4 && ms[0] == 1 && ms[1] == uint32_t(b) && ms[2] == uint32_t(nqh) &&
                        ms[3] == uint32_t(layout.capacity()),
                    op, "attn_mask must be [1, ", b, ", ", nqh, ", ", layout.capacity(), "], given ", ms);
        for (int64_t i = 0; i < b; ++i) layout.check_positions(op, "attn_mask", i, 0, layout.capacity() - 1);
        job.mask = detail::matrix_view(*options.attn_mask, op);
    }
    if (options.scale)
        ATTNN_CHECK(std::isfinite(*options.scale), op, "scale must be finite, given ", *options.scale);
    job.scale = options.scale.value_or(1.0f / std::sqrt(float(dh)));
    if (options.compute_kernel_config) {
        const MathFidelity f = options.compute_kernel_config->math_fidelity;
        ATTNN_CHECK(is_valid(f), op,
                    "compute_kernel_config.math_fidelity must be LoFi, HiFi2, HiFi3 or HiFi4, given ",
                    int(f));
        job.q8_every_residual = f == MathFidelity::HiFi3 || f == MathFidelity::HiFi4;
    }
    job.sinks = detail::attention_sinks(op, options.attention_sink, q, nqh, job.scale);

    const SDPAProgramConfig config = options.program_config.value_or(SDPAProgramConfig{});
    const int workers = detail::attention_workers(op, config, device.pool->size());
    detail::ProgramKey key(op);
    key.add(q).add(k).add(v).add(job.causal).add(job.has_mask).add(config.k_chunk_size);
    key.add(config.max_cores_per_head_batch).add(config.exp_approx_mode).add(workers);
    key.add(layout.capacity());  // caps the chunk below; a paged cache's is the page table's, not k's
    auto program = device.program<DecodeProgram>(key, [&] {
        auto p = std::make_shared<DecodeProgram>();
        p->users = b, p->nqh = nqh, p->nkv = nkv, p->group = nqh / nkv, p->dh = dh;
        p->dh_pad = round_up(dh, lane_align);
        // At most the cache's positions (in whole bands): a larger chunk only sizes buffers.
        p->kc = std::min<int64_t>(config.k_chunk_size ? config.k_chunk_size : default_k_chunk,
                                  round_up(std::max<int64_t>(layout.capacity(), 1), TILE_HEIGHT));
        p->max_parts = std::max<int64_t>(1, std::min<int64_t>(config.max_cores_per_head_batch, workers));
        p->k_format = detail::kernel_format(k.dtype()), p->v_format = detail::kernel_format(v.dtype());
        p->k_tile_bytes = int64_t(tile_size_bytes(k.dtype())), p->v_tile_bytes = int64_t(tile_size_bytes(v.dtype()));
        // K: one band, scored before the next is copied; V: a chunk's bands, accumulated together.
        const int64_t band_tiles = ceil_div(dh, TILE_WIDTH), chunk_bands = ceil_div(p->kc, TILE_HEIGHT);
        if (k.layout() == Layout::ROW_MAJOR) p->k_stage_bytes = band_tiles * p->k_tile_bytes;
        if (v.layout() == Layout::ROW_MAJOR) p->v_stage_bytes = chunk_bands * band_tiles * p->v_tile_bytes;
        p->workers = workers;
        p->approx = config.exp_approx_mode;
        p->heads_together = page_table != nullptr;
        const int64_t part_heads = p->heads_together ? nkv : 1;
        p->scratch.resize(std::size_t(workers));
        for (auto& s : p->scratch) {
            s.q.assign(std::size_t(part_heads * p->group * p->dh_pad), 0.0f);
            s.s.assign(std::size_t(p->group * p->kc), 0.0f);
            if (p->k_stage_bytes) s.kstage = std::make_unique<detail::Buffer>(std::size_t(p->k_stage_bytes));
            if (p->v_stage_bytes) s.vstage = std::make_unique<detail::Buffer>(std::size_t(p->v_stage_bytes));
            s.qb.assign(std::size_t(part_heads * kernels::qbf16_words(p->group, p->dh_pad)), 0);
            s.q8.assign(std::size_t(part_heads * kernels::q8_bytes(p->group, p->dh_pad)), 0);
            s.out.resize(std::size_t(part_heads));
            s.bf16_dot.assign(std::size_t(part_heads), 0);
            s.work.assign(std::size_t(std::max(ceil_div(dh, 32) * 64, kernels::max_bands * 16 * p->group * ceil_div(dh, 16))),
                          0.0f);
            s.row.assign(std::size_t(p->kc + 64), 0.0f);
            s.m_new.assign(std::size_t(p->group), 0.0f);
            s.sum.assign(std::size_t(p->group), 0.0f);
        }
        const std::size_t slots = std::size_t(b * nkv * p->max_parts * p->group);
        p->partial_o.assign(slots * std::size_t(p->dh_pad), 0.0f);
        p->partial_m.assign(slots, 0.0f);
        p->partial_l.assign(slots, 0.0f);
        return p;
    });
    DecodeProgram& p = *program;
    job.layout = std::move(layout);
    job.q = detail::matrix_view(q, op);
    job.k = detail::matrix_view(k, op);
    job.v = detail::matrix_view(v, op);
    Tensor out =
        detail::allocate_tensor(q.shape(), q.dtype(), q.layout(),
                                options.memory_config.value_or(q.memory_config()), q.device_impl(), op);
    job.out = detail::matrix_view(out, op);

    // Split sequences only while workers would otherwise idle, and never below min_keys_per_part.
    int64_t active = 0, longest = 0;
    for (int64_t i = 0; i < b; ++i) {
        const int64_t keys = job.length[std::size_t(i)] - job.start[std::size_t(i)];
        active += keys > 0, longest = std::max(longest, keys);
    }
    const int64_t units = active * nkv;  // (user, KV head) pairs with keys
    job.parts = units == 0 ? 1
                           : std::clamp<int64_t>(
                                 ceil_div(workers, units), 1,
                                 std::min(p.max_parts, std::max<int64_t>(1, longest / min_keys_per_part)));
    // Keys [first, end) of a user's part: whole chunks of the grid of multiples of kc (cut to
    // the user's keys), so chunk boundaries do not depend on the split.
    auto part_keys = [&](int64_t user, int64_t part) {
        const int64_t first = job.start[std::size_t(user)], len = job.length[std::size_t(user)];
        const int64_t c0 = first / p.kc, chunks = ceil_div(len, p.kc) - c0;
        auto at = [&](int64_t c) { return std::clamp((c0 + c) * p.kc, first, std::max(first, len)); };
        return std::pair{at(chunks * part / job.parts), at(chunks * (part + 1) / job.parts)};
    };
    // A task: one KV head of a user's part or, over a paged cache, a group of them (a whole
    // block's reads in a row rather than a 16 KB slice per head with 64-key BFLOAT16 blocks).
    // The groups are the largest that keep the workers as busy as one head per task does: the
    // tasks list-scheduled in order (workers claim them so), a task's time its keys x heads.
    int64_t groups = nkv;
    if (p.heads_together) {
        auto makespan = [&](int64_t n_groups) {
            std::vector<int64_t> busy(std::size_t(workers), 0);
            for (int64_t user = 0; user < b; ++user)
                for (int64_t grp = 0; grp < n_groups; ++grp)
                    for (int64_t part = 0; part < job.parts; ++part) {
                        auto [first, end] = part_keys(user, part);
                        *std::min_element(busy.begin(), busy.end()) += (end - first) * (nkv / n_groups);
                    }
            return *std::max_element(busy.begin(), busy.end());
        };
        const int64_t one_head = makespan(nkv);
        for (int64_t d = 1; d < nkv; ++d)
            if (nkv % d == 0 && makespan(d) * 10 <= one_head * 11) {  // within 10%
                groups = d;
                break;
            }
    }
    const int64_t group_heads = nkv / groups;
    const int64_t g = p.group, dhp = p.dh_pad;
    auto slot = [&](int64_t user, int64_t kvh, int64_t part) {
        return ((user * nkv + kvh) * p.max_parts + part) * g;
    };
    // Task t: (user, head group, part) with the part fastest.
    const int64_t tasks = b * groups * job.parts;
    auto part_of = [&](int64_t t) {
        const int64_t part = t % job.parts, user = t / (job.parts * groups);
        const int64_t h0 = (t / job.parts) % groups * group_heads;
        auto [first, end] = part_keys(user, part);
        return Part{user, h0, h0 + group_heads, first, end};
    };
    // Each worker claims its next part before it starts the current one, so the current part's
    // last keys can prefetch the next one's first: a part that starts cold waits on its first
    // loads with nothing to overlap them (a few microseconds per part, much of a short cache's time).
    std::atomic<int64_t> claim{0};
    const auto& kt = kernels::table();
    // A finished row: O / l (or / (l + e^(sink - m))), or zeros where no key counted (a skipped
    // user, every key masked).
    auto write_row = [&](int64_t user, int64_t head, float* row, float l, float m) {
        kt.scale(row, dh,
                 detail::row_normaliser(l, m, job.sinks.empty() ? nullptr : &job.sinks[std::size_t(head)]));
        job.out.write(user, head, 0, dh, row);
    };
    device.pool->parallel_for(
        std::min<int64_t>(tasks, workers),
        [&](int64_t, int worker) {
            int64_t t = claim.fetch_add(1, std::memory_order_relaxed);
            bool warm = false;
            while (t < tasks) {
                const int64_t t_next = claim.fetch_add(1, std::memory_order_relaxed);
                const Part cur = part_of(t), next = t_next < tasks ? part_of(t_next) : Part{};
                DecodeProgram::Scratch& s = p.scratch[std::size_t(worker)];
                for (int64_t kvh = cur.h0; kvh < cur.h1; ++kvh) {
                    const int64_t sl = slot(cur.user, kvh, t % job.parts);
                    s.out[std::size_t(kvh - cur.h0)] = {p.partial_o.data() + sl * dhp, p.partial_m.data() + sl,
                                                        p.partial_l.data() + sl};
                }
                attend_part(p, s, job, cur, t_next < tasks ? &next : nullptr, warm, s.out.data());
                if (job.parts == 1)  // nothing to merge: the rows are written here, by the workers
                    for (int64_t kvh = cur.h0; kvh < cur.h1; ++kvh) {
                        const PartOut& po = s.out[std::size_t(kvh - cur.h0)];
                        for (int64_t h = 0; h < g; ++h)
                            write_row(cur.user, kvh * g + h, po.o + h * dhp, po.l[h], po.m[h]);
                    }
                // It prefetched next's first keys: prefetch_keys of them, a chunk's where heads go together.
                const int64_t reach = cur.h1 - cur.h0 > 1 ? std::max(p.kc, prefetch_keys) : prefetch_keys;
                warm = cur.end - cur.begin >= reach;
                t = t_next;
            }
        },
        workers);
    if (job.parts == 1) return out;
    // Merge the parts of each (user, head) and write the output rows.
    std::vector<float> merged(static_cast<std::size_t>(dhp));
    for (int64_t user = 0; user < b; ++user)
        for (int64_t kvh = 0; kvh < nkv; ++kvh)
            for (int64_t h = 0; h < g; ++h) {
                float m = -INFINITY;
                for (int64_t part = 0; part < job.parts; ++part)
                    m = std::max(m, p.partial_m[std::size_t(slot(user, kvh, part) + h)]);
                std::fill(merged.begin(), merged.end(), 0.0f);
                float l = 0;
                if (m != -INFINITY) {
                    for (int64_t part = 0; part < job.parts; ++part) {
                        const int64_t sl = slot(user, kvh, part) + h;
                        float mp = p.partial_m[std::size_t(sl)];
                        if (mp == -INFINITY) continue;
                        float w = std::exp(mp - m);
                        l += w * p.partial_l[std::size_t(sl)];
                        const float* op_ = p.partial_o.data() + sl * dhp;
                        for (int64_t d = 0; d < dh; ++d) merged[std::size_t(d)] += w * op_[d];
                    }
                }
                write_row(user, kvh * g + h, merged.data(), l, m);
            }
    return out;
}

}  // namespace

Tensor scaled_dot_product_attention_decode(const Tensor& q, const Tensor& k, const Tensor& v,
                                           const SDPADecodeOptions& options) {
    return run_decode("scaled_dot_product_attention_decode", q, k, v, nullptr, options);
}

Tensor paged_scaled_dot_product_attention_decode(const Tensor& q, const Tensor& k, const Tensor& v,
                                                 const Tensor& page_table, const SDPADecodeOptions& options) {
    return run_decode("paged_scaled_dot_product_attention_decode", q, k, v, &page_table, options);
}

}  // namespace attnn::transformer

// spikedrive native conv kernels: NHWC 2-D convolution forward and both gradients as im2col + a register-blocked
// GEMM, multi-threaded with a small spin-then-sleep pool. Hand-written because no BLAS/oneDNN package installs in
// this project's environments and tfjs-node does not install; built on demand by build.ts with the host compiler.
// Works on tensors in place: the wasm back end's heap and the cpu back end's typed arrays are both handed in as
// Float32Array views, so no copies cross the JS boundary.
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpuRelax() { _mm_pause(); }
#else
static inline void cpuRelax() {}
#endif

// ---------------------------------------------------------------- vector width (chosen by the build's -march)
#if defined(__AVX512F__)
#define SD_VBYTES 64
#define SD_REGS 32
static const char* kSimd = "avx512";
#elif defined(__AVX__)
#define SD_VBYTES 32
#define SD_REGS 16
static const char* kSimd = "avx2";
#elif defined(__aarch64__)
#define SD_VBYTES 16
#define SD_REGS 32
static const char* kSimd = "neon";
#else
#define SD_VBYTES 16
#define SD_REGS 16
static const char* kSimd = "sse";
#endif

typedef float vf __attribute__((vector_size(SD_VBYTES), aligned(4), may_alias));
static constexpr int V = SD_VBYTES / 4;

static inline vf vload(const float* p) { return *reinterpret_cast<const vf*>(p); }
static inline void vstore(float* p, vf v) { *reinterpret_cast<vf*>(p) = v; }
static inline vf vbcast(float s) { return s - (vf){}; }
static inline long roundUp(long a, long b) { return (a + b - 1) / b * b; }

// ---------------------------------------------------------------- thread pool
// Work is handed out through an atomic task counter and a worker only takes part if it joins before the caller
// has finished every task: a late worker never delays the caller, it just does not help. Nobody spins long: the
// workers sleep ~20 µs after a job and the caller sleeps while it waits for a worker's last task. Spinning is
// what ruins OpenMP-style pools on a shared machine (the scheduler's per-session fairness counts a spinning
// thread against its own process), and it gains little here: kernels run 0.2-2 ms, a wake-up costs ~10-30 µs.
struct Pool {
  static constexpr uint64_t kClosed = 1ull << 31;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<uint32_t> generation{0};
  // (generation << 32) | closed bit | number of workers inside the current job
  std::atomic<uint64_t> state{kClosed};
  std::atomic<int> sleepers{0};
  std::mutex doneMu;
  std::condition_variable doneCv;
  const std::function<void(int)>* job = nullptr;
  bool stopping = false;
  // Scratch memory, grown on demand and kept: a large allocation per call is a fresh mmap, and its page faults
  // cost more than the GEMM on a busy VM (PyTorch's backward loses most of its time that way here).
  std::vector<std::vector<float>> scratch;  // per thread: im2col / GEMM blocks
  std::vector<std::vector<float>> partial;  // per thread: dW partial sums
  std::vector<float> packed;                // caller only: the packed/transposed filter

  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stopping = true;
      generation.fetch_add(1);
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
  }

  int size() const { return (int)threads.size() + 1; }

  float* buffer(int tid, size_t floats) {
    auto& s = scratch[tid];
    if (s.size() < floats + 16) s.resize(floats + 16);
    return s.data();
  }

  // Zeroed per-thread accumulator of `floats` values.
  float* partialBuffer(int tid, size_t floats) {
    auto& s = partial[tid];
    if (s.size() < floats) s.resize(floats);
    std::fill(s.begin(), s.begin() + floats, 0.f);
    return s.data();
  }

  float* packedBuffer(size_t floats) {
    if (packed.size() < floats) packed.resize(floats);
    return packed.data();
  }

  void ensure(int n) {
    if ((int)scratch.size() < n) scratch.resize(n);
    if ((int)partial.size() < n) partial.resize(n);
    while ((int)threads.size() < n - 1) {
      int id = (int)threads.size() + 1;
      // Read the generation before the next run() bumps it, so a slow-starting thread cannot miss a job.
      uint32_t seen = generation.load(std::memory_order_acquire);
      threads.emplace_back([this, id, seen] { loop(id, seen); });
    }
  }

  void loop(int id, uint32_t seen) {
    for (;;) {
      auto spinUntil = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
      unsigned spins = 0;
      while (generation.load(std::memory_order_acquire) == seen) {
        if ((++spins & 255) != 0 || std::chrono::steady_clock::now() < spinUntil) {
          cpuRelax();
          continue;
        }
        std::unique_lock<std::mutex> lk(mu);
        sleepers.fetch_add(1);
        cv.wait(lk, [&] { return generation.load(std::memory_order_acquire) != seen; });
        sleepers.fetch_sub(1);
        break;
      }
      seen = generation.load(std::memory_order_acquire);
      if (stopping) return;
      uint64_t s = state.load(std::memory_order_acquire);
      bool joined = false;
      while ((uint32_t)(s >> 32) == seen && !(s & kClosed)) {
        if (state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) {
          joined = true;
          break;
        }
      }
      if (!joined) continue;
      (*job)(id);
      uint64_t prev = state.fetch_sub(1, std::memory_order_acq_rel);
      if ((prev & kClosed) && (prev & (kClosed - 1)) == 1) {
        std::lock_guard<std::mutex> lk(doneMu);
        doneCv.notify_one();
      }
    }
  }

  // Runs fn(tid) on up to n threads (the caller is tid 0); fn pulls tasks from a shared counter until none remain.
  void run(int n, const std::function<void(int)>& fn) {
    if (n <= 1) {
      if (scratch.empty()) scratch.resize(1);
      if (partial.empty()) partial.resize(1);
      fn(0);
      return;
    }
    ensure(n);
    job = &fn;
    uint32_t g = generation.load(std::memory_order_relaxed) + 1;
    state.store((uint64_t)g << 32, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lk(mu);
      generation.store(g, std::memory_order_release);
    }
    if (sleepers.load() > 0) cv.notify_all();
    fn(0);
    state.fetch_or(kClosed, std::memory_order_acq_rel);
    auto busy = [&] { return (state.load(std::memory_order_acquire) & (kClosed - 1)) != 0; };
    for (int spins = 0; busy(); spins++) {
      if (spins < 500) {
        cpuRelax();
        continue;
      }
      std::unique_lock<std::mutex> lk(doneMu);
      doneCv.wait_for(lk, std::chrono::microseconds(500), [&] { return !busy(); });
    }
  }
};

// ---------------------------------------------------------------- micro-kernel
// C[MR x NV*V] (+)= sum_k A(i,k) * B(k, 0..NV*V), A(i,k) = A[i*sa_i + k*sa_k], B rows ldb apart.
template <int MR, int NV>
static inline void microKernel(long K, const float* __restrict A, long sa_i, long sa_k, const float* __restrict B,
                               long ldb, float* __restrict C, long ldc, bool accumulate) {
  vf acc[MR][NV];
  if (accumulate) {
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NV; j++) acc[i][j] = vload(C + i * ldc + j * V);
  } else {
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NV; j++) acc[i][j] = (vf){};
  }
  for (long k = 0; k < K; k++) {
    const float* bk = B + k * ldb;
    vf b[NV];
    for (int j = 0; j < NV; j++) b[j] = vload(bk + j * V);
    const float* ak = A + k * sa_k;
    for (int i = 0; i < MR; i++) {
      vf a = vbcast(ak[i * sa_i]);
      for (int j = 0; j < NV; j++) acc[i][j] += a * b[j];
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NV; j++) vstore(C + i * ldc + j * V, acc[i][j]);
}

// Tile shapes that fit the register file: MR*NV accumulators + NV loads + one broadcast.
struct Tile {
  int mr, nv;
};
#if SD_REGS >= 32
static const Tile kTiles[] = {{6, 4}, {8, 3}, {12, 2}, {24, 1}};
#else
static const Tile kTiles[] = {{4, 3}, {6, 2}, {12, 1}};
#endif

// GEMM over a block: C[M x N] (+)= A(M x K) * B(K x N). N (=nvTotal*V columns) is padded to V in B and C; M is a
// multiple of tile.mr (callers pad). A is addressed through strides so A^T products need no transpose.
static void gemmBlock(const Tile& t, long M, long nvTotal, long K, const float* A, long sa_i, long sa_k, const float* B,
                      long ldb, float* C, long ldc, bool accumulate) {
  for (long j0 = 0; j0 < nvTotal; j0 += t.nv) {
    long nvHere = std::min<long>(t.nv, nvTotal - j0);
    for (long i0 = 0; i0 < M; i0 += t.mr) {
      const float* a = A + i0 * sa_i;
      const float* b = B + j0 * V;
      float* c = C + i0 * ldc + j0 * V;
#define SD_CASE(MRv, NVv) microKernel<MRv, NVv>(K, a, sa_i, sa_k, b, ldb, c, ldc, accumulate)
      // Column tails narrower than the tile use the same MR with fewer vectors (fits the registers too).
      switch (t.mr * 8 + (int)nvHere) {
#if SD_REGS >= 32
        case 6 * 8 + 4: SD_CASE(6, 4); break;
        case 6 * 8 + 3: SD_CASE(6, 3); break;
        case 6 * 8 + 2: SD_CASE(6, 2); break;
        case 6 * 8 + 1: SD_CASE(6, 1); break;
        case 8 * 8 + 3: SD_CASE(8, 3); break;
        case 8 * 8 + 2: SD_CASE(8, 2); break;
        case 8 * 8 + 1: SD_CASE(8, 1); break;
        case 12 * 8 + 2: SD_CASE(12, 2); break;
        case 12 * 8 + 1: SD_CASE(12, 1); break;
        case 24 * 8 + 1: SD_CASE(24, 1); break;
#else
        case 4 * 8 + 3: SD_CASE(4, 3); break;
        case 4 * 8 + 2: SD_CASE(4, 2); break;
        case 4 * 8 + 1: SD_CASE(4, 1); break;
        case 6 * 8 + 2: SD_CASE(6, 2); break;
        case 6 * 8 + 1: SD_CASE(6, 1); break;
        case 12 * 8 + 1: SD_CASE(12, 1); break;
#endif
        default: abort();
      }
#undef SD_CASE
    }
  }
}

// Picks the tile that wastes least work on row padding for an M x (nvTotal vectors) product; a narrower column
// tail panel costs a little extra (fewer accumulators in flight), and wide tiles win ties (fewer loads per FMA).
static Tile pickTile(long M, long nvTotal) {
  Tile best = kTiles[0];
  double bestCost = 1e300;
  for (const Tile& t : kTiles) {
    long full = nvTotal / t.nv, tail = nvTotal % t.nv;
    double cols = full * t.nv * (1.0 + 0.05 / t.nv) + (tail ? tail * (1.0 + 0.25 / tail) : 0.0);
    double cost = (double)roundUp(M, t.mr) * cols;
    if (cost < bestCost) {
      bestCost = cost;
      best = t;
    }
  }
  return best;
}

// ---------------------------------------------------------------- conv geometry
struct Conv {
  long N, H, W, Ci, Co, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW;
  long Kd() const { return KH * KW * Ci; }
  long M() const { return N * OH * OW; }
};

// Short copies (a few channels × taps) are too small for memcpy's call overhead to pay off.
static inline void copyFloats(float* __restrict d, const float* __restrict s, long n) {
  long i = 0;
  for (; i + V <= n; i += V) vstore(d + i, vload(s + i));
  for (; i < n; i++) d[i] = s[i];
}

static inline void zeroFloats(float* d, long n) {
  long i = 0;
  for (; i + V <= n; i += V) vstore(d + i, (vf){});
  for (; i < n; i++) d[i] = 0.f;
}

// im2col of output pixels [m0, m0+rows) into buf (row stride ld >= Kd; the pad columns are zeroed).
static void im2colRows(const float* x, const Conv& p, long m0, long rows, float* buf, long ld) {
  const long Kd = p.Kd();
  const long ohw = p.OH * p.OW;
  for (long r = 0; r < rows; r++) {
    long m = m0 + r;
    long n = m / ohw, rem = m - n * ohw, oh = rem / p.OW, ow = rem - oh * p.OW;
    float* dst = buf + r * ld;
    long ihBase = oh * p.SH - p.PT, iwBase = ow * p.SW - p.PL;
    const float* xImg = x + n * p.H * p.W * p.Ci;
    for (long kh = 0; kh < p.KH; kh++) {
      long ih = ihBase + kh * p.DH;
      float* d = dst + kh * p.KW * p.Ci;
      if (ih < 0 || ih >= p.H) {
        zeroFloats(d, p.KW * p.Ci);
        continue;
      }
      const float* xRow = xImg + ih * p.W * p.Ci;
      if (p.DW == 1 && iwBase >= 0 && iwBase + p.KW <= p.W) {
        copyFloats(d, xRow + iwBase * p.Ci, p.KW * p.Ci);
        continue;
      }
      for (long kw = 0; kw < p.KW; kw++) {
        long iw = iwBase + kw * p.DW;
        float* dd = d + kw * p.Ci;
        if (iw < 0 || iw >= p.W)
          zeroFloats(dd, p.Ci);
        else
          copyFloats(dd, xRow + iw * p.Ci, p.Ci);
      }
    }
    if (ld > Kd) zeroFloats(dst + Kd, ld - Kd);
  }
}

// Rows per task: big enough to amortise the B panel, small enough that the im2col block stays in L2.
static long blockRows(const Tile& t, long rowFloats) {
  long target = std::max<long>(t.mr, (long)(160 * 1024 / 4) / std::max<long>(rowFloats, 1));
  target = std::min<long>(target, 480);
  return std::max<long>(t.mr, target / t.mr * t.mr);
}

struct Env {
  Pool pool;
};

// Fused epilogue of the forward conv: + bias, then an activation (tfjs FusedConv2D's set, minus prelu).
enum Act { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kSigmoid = 4, kElu = 5 };
struct Epilogue {
  const float* bias = nullptr;
  int act = kLinear;
  float alpha = 0.2f;
  bool active() const { return bias != nullptr || act != kLinear; }
};

static void applyEpilogue(const Epilogue& e, float* rows, long count, long Co) {
  for (long r = 0; r < count; r++) {
    float* o = rows + r * Co;
    for (long c = 0; c < Co; c++) {
      float v = o[c] + (e.bias ? e.bias[c] : 0.f);
      switch (e.act) {
        case kRelu: v = v > 0.f ? v : 0.f; break;
        case kRelu6: v = v < 0.f ? 0.f : (v > 6.f ? 6.f : v); break;
        case kLeakyRelu: v = v < 0.f ? e.alpha * v : v; break;
        case kSigmoid: v = 1.f / (1.f + __builtin_expf(-v)); break;
        case kElu: v = v < 0.f ? __builtin_expm1f(v) : v; break;
        default: break;
      }
      o[c] = v;
    }
  }
}

// out[M, Co] = im2col(x)[M, Kd] * w[Kd, Co]
static void convForward(Env& env, int threads, const float* x, const float* w, float* out, const Conv& p,
                        const Epilogue& epi) {
  const long Kd = p.Kd(), M = p.M(), CoP = roundUp(p.Co, V), nvTotal = CoP / V;
  const Tile t = pickTile(M, nvTotal);
  const long MB = blockRows(t, Kd + CoP);
  const bool pointwise = p.KH == 1 && p.KW == 1 && p.SH == 1 && p.SW == 1 && p.PT == 0 && p.PL == 0 &&
                         p.OH == p.H && p.OW == p.W;
  // B = w padded to CoP columns (only when Co is not a multiple of V).
  const float* B = w;
  if (CoP != p.Co) {
    float* wPadded = env.pool.packedBuffer(Kd * CoP);
    for (long k = 0; k < Kd; k++) {
      std::memcpy(wPadded + k * CoP, w + k * p.Co, sizeof(float) * p.Co);
      std::memset(wPadded + k * CoP + p.Co, 0, sizeof(float) * (CoP - p.Co));
    }
    B = wPadded;
  }
  const long tasks = (M + MB - 1) / MB;
  std::atomic<long> next{0};
  env.pool.run(threads, [&](int tid) {
    float* buf = env.pool.buffer(tid, (size_t)(MB * Kd + MB * CoP + V));
    float* aBuf = buf;
    float* cBuf = buf + MB * Kd;
    for (long task; (task = next.fetch_add(1)) < tasks;) {
      long m0 = task * MB, rows = std::min(MB, M - m0), rowsP = roundUp(rows, t.mr);
      const float* A;
      if (pointwise && rows == rowsP) {
        A = x + m0 * p.Ci;
      } else {
        if (pointwise) {
          std::memcpy(aBuf, x + m0 * p.Ci, sizeof(float) * rows * Kd);
        } else {
          im2colRows(x, p, m0, rows, aBuf, Kd);
        }
        if (rowsP > rows) std::memset(aBuf + rows * Kd, 0, sizeof(float) * (rowsP - rows) * Kd);
        A = aBuf;
      }
      if (CoP == p.Co && rows == rowsP) {
        gemmBlock(t, rowsP, nvTotal, Kd, A, Kd, 1, B, CoP, out + m0 * p.Co, p.Co, false);
      } else {
        gemmBlock(t, rowsP, nvTotal, Kd, A, Kd, 1, B, CoP, cBuf, CoP, false);
        for (long r = 0; r < rows; r++) std::memcpy(out + (m0 + r) * p.Co, cBuf + r * CoP, sizeof(float) * p.Co);
      }
      if (epi.active()) applyEpilogue(epi, out + m0 * p.Co, rows, p.Co);
    }
  });
}

// dw[Kd, Co] = sum_m im2col(x)[m, :]^T dy[m, :]. Computed as dw^T[Co, Kd] (dy scalars broadcast, im2col rows as
// vectors: both read contiguously), one partial per thread, then reduced and transposed to HWIO.
static void convBackpropFilter(Env& env, int threads, const float* x, const float* dy, float* dw, const Conv& p) {
  const long Kd = p.Kd(), KdP = roundUp(Kd, V), M = p.M(), nvTotal = KdP / V;
  const Tile t = pickTile(p.Co, nvTotal);
  const long CoR = roundUp(p.Co, t.mr);
  const long MB = std::max<long>(16, std::min<long>(512, (long)(256 * 1024 / 4) / (KdP + CoR)));
  const long tasks = (M + MB - 1) / MB;
  const int T = (int)std::max<long>(1, std::min<long>(threads, tasks));
  env.pool.ensure(T);
  std::vector<float*> partial(T, nullptr);
  std::atomic<long> next{0};
  env.pool.run(T, [&](int tid) {
    float* buf = env.pool.buffer(tid, (size_t)(MB * KdP + MB * CoR + V));
    float* aBuf = buf;             // im2col rows [MB][KdP]
    float* yBuf = buf + MB * KdP;  // dy rows padded to CoR [MB][CoR]
    if (!partial[tid]) partial[tid] = env.pool.partialBuffer(tid, CoR * KdP);
    float* acc = partial[tid];
    for (long task; (task = next.fetch_add(1)) < tasks;) {
      long m0 = task * MB, rows = std::min(MB, M - m0);
      im2colRows(x, p, m0, rows, aBuf, KdP);
      const float* Y = dy + m0 * p.Co;
      long ldy = p.Co;
      if (CoR != p.Co) {
        for (long r = 0; r < rows; r++) {
          std::memcpy(yBuf + r * CoR, dy + (m0 + r) * p.Co, sizeof(float) * p.Co);
          std::memset(yBuf + r * CoR + p.Co, 0, sizeof(float) * (CoR - p.Co));
        }
        Y = yBuf;
        ldy = CoR;
      }
      // C[co, kd] += sum_r Y[r, co] * A[r, kd]: A(i=co, k=r) = Y[r*ldy + co]
      gemmBlock(t, CoR, nvTotal, rows, Y, 1, ldy, aBuf, KdP, acc, KdP, true);
    }
  });
  if (!partial[0]) partial[0] = env.pool.partialBuffer(0, CoR * KdP);
  for (int s = 1; s < T; s++) {
    if (!partial[s]) continue;
    float* a = partial[0];
    const float* b = partial[s];
    for (long i = 0; i < CoR * KdP; i++) a[i] += b[i];
  }
  const float* a = partial[0];
  for (long k = 0; k < Kd; k++)
    for (long co = 0; co < p.Co; co++) dw[k * p.Co + co] = a[co * KdP + k];
}

// dx = col2im(dy[M, Co] * w^T[Co, Kd]). Output rows are cut into chunks that only touch the dx rows of their
// neighbours; even chunks scatter first, then odd ones, so threads never add into the same dx element at once.
static void convBackpropInput(Env& env, int threads, const float* dy, const float* w, float* dx, const Conv& p) {
  const long Kd = p.Kd(), KdP = roundUp(Kd, V), nvTotal = KdP / V;
  const long rowsOut = p.N * p.OH;  // (n, oh) output rows
  const long ohw = p.OH * p.OW;
  // wT[co][kd] padded to KdP columns.
  float* wT = env.pool.packedBuffer(p.Co * KdP);
  std::memset(wT, 0, sizeof(float) * p.Co * KdP);
  for (long k = 0; k < Kd; k++)
    for (long co = 0; co < p.Co; co++) wT[co * KdP + k] = w[k * p.Co + co];
  const Tile t = pickTile(ohw, nvTotal);
  const long MB = std::max<long>(t.mr, std::min<long>(480, (long)(192 * 1024 / 4) / KdP) / t.mr * t.mr);
  // Chunk height (output rows) so that chunks i and i+2 touch disjoint dx rows.
  const long minRows = (p.KH - 1) * p.DH / p.SH + 1;
  long chunkRows = std::max<long>(minRows, (rowsOut + 4L * threads - 1) / (4L * threads));
  if (threads <= 1) chunkRows = rowsOut;
  const long chunks = (rowsOut + chunkRows - 1) / chunkRows;
  const long dxSize = p.N * p.H * p.W * p.Ci;
  std::memset(dx, 0, sizeof(float) * dxSize);
  auto doChunk = [&](int tid, long c) {
    float* buf = env.pool.buffer(tid, (size_t)(MB * KdP + MB * p.Co + V));
    float* dP = buf;
    float* yBuf = buf + MB * KdP;
    long r0 = c * chunkRows, r1 = std::min(rowsOut, r0 + chunkRows);
    long m0 = r0 * p.OW, m1 = r1 * p.OW;
    for (long mb = m0; mb < m1; mb += MB) {
      long rows = std::min(MB, m1 - mb), rowsP = roundUp(rows, t.mr);
      const float* A = dy + mb * p.Co;
      if (rowsP != rows) {
        std::memcpy(yBuf, A, sizeof(float) * rows * p.Co);
        std::memset(yBuf + rows * p.Co, 0, sizeof(float) * (rowsP - rows) * p.Co);
        A = yBuf;
      }
      gemmBlock(t, rowsP, nvTotal, p.Co, A, p.Co, 1, wT, KdP, dP, KdP, false);
      for (long r = 0; r < rows; r++) {
        long m = mb + r;
        long n = m / ohw, rem = m - n * ohw, oh = rem / p.OW, ow = rem - oh * p.OW;
        const float* src = dP + r * KdP;
        float* dxImg = dx + n * p.H * p.W * p.Ci;
        for (long kh = 0; kh < p.KH; kh++) {
          long ih = oh * p.SH - p.PT + kh * p.DH;
          if (ih < 0 || ih >= p.H) continue;
          for (long kw = 0; kw < p.KW; kw++) {
            long iw = ow * p.SW - p.PL + kw * p.DW;
            if (iw < 0 || iw >= p.W) continue;
            float* d = dxImg + (ih * p.W + iw) * p.Ci;
            const float* s = src + (kh * p.KW + kw) * p.Ci;
            long ci = 0;
            for (; ci + V <= p.Ci; ci += V) vstore(d + ci, vload(d + ci) + vload(s + ci));
            for (; ci < p.Ci; ci++) d[ci] += s[ci];
          }
        }
      }
    }
  };
  for (int phase = 0; phase < 2; phase++) {
    long count = (chunks - phase + 1) / 2;
    if (count <= 0) continue;
    std::atomic<long> next{0};
    int T = (int)std::max<long>(1, std::min<long>(threads, count));
    env.pool.run(T, [&](int tid) {
      for (long i; (i = next.fetch_add(1)) < count;) doChunk(tid, phase + 2 * i);
    });
  }
}

// ---------------------------------------------------------------- spike (Heaviside) and surrogate gradient
// One pass each instead of tfjs's chain of element-wise ops (sub, step / sub, mul, sigmoid, sub, mul, mul, mul).
// The subtraction x - threshold is done first in float32, as the composite ops do, so results match them.
typedef int32_t vi __attribute__((vector_size(SD_VBYTES)));

// exp on a vector: Cody-Waite range reduction and a degree-6 polynomial (rel. error ~2e-7 on [-87, 88]).
static inline vf vexp(vf x) {
  const vf hi = vbcast(88.3762626647949f), lo = vbcast(-87.3365447504019f);
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  vf fx = x * 1.44269504088896341f + 0.5f;
  vi n = __builtin_convertvector(fx, vi);
  vf fn = __builtin_convertvector(n, vf);
  n = fn > fx ? n - 1 : n;  // floor
  fn = __builtin_convertvector(n, vf);
  x = x - fn * 0.693359375f;
  x = x - fn * -2.12194440e-4f;
  vf y = vbcast(1.9875691500E-4f);
  y = y * x + 1.3981999507E-3f;
  y = y * x + 8.3334519073E-3f;
  y = y * x + 4.1665795894E-2f;
  y = y * x + 1.6666665459E-1f;
  y = y * x + 5.0000001201E-1f;
  y = y * (x * x) + x + 1.0f;
  vi bits = (n + 127) << 23;
  vf scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return y * scale;
}

enum Surrogate { kSigmoidSg = 0, kAtanSg = 1, kFastSigmoidSg = 2 };

template <typename F>
static void parallelRange(Env& env, int threads, long n, F&& body) {
  const long chunk = 1 << 16;
  const long tasks = (n + chunk - 1) / chunk;
  int T = (int)std::max<long>(1, std::min<long>(threads, tasks));
  if (n < (1 << 17)) T = 1;
  std::atomic<long> next{0};
  env.pool.run(T, [&](int) {
    for (long t; (t = next.fetch_add(1)) < tasks;) body(t * chunk, std::min(n, (t + 1) * chunk));
  });
}

static void spikeForward(Env& env, int threads, const float* x, float* out, long n, float threshold, bool gt) {
  parallelRange(env, threads, n, [&](long a, long b) {
    const vf th = vbcast(threshold), one = vbcast(1.f), zero = (vf){};
    long i = a;
    for (; i + V <= b; i += V) {
      vf u = vload(x + i) - th;
      vstore(out + i, gt ? (u > zero ? one : zero) : (u >= zero ? one : zero));
    }
    for (; i < b; i++) {
      float u = x[i] - threshold;
      out[i] = (gt ? u > 0.f : u >= 0.f) ? 1.f : 0.f;
    }
  });
}

static void surrogateGrad(Env& env, int threads, const float* dy, const float* x, float* out, long n, float threshold,
                          int kind, float k) {
  parallelRange(env, threads, n, [&](long a, long b) {
    const vf th = vbcast(threshold), one = vbcast(1.f);
    auto g = [&](vf u) -> vf {
      if (kind == kSigmoidSg) {
        vf s = one / (one + vexp(-(u * k)));
        return s * (one - s) * k;
      }
      if (kind == kAtanSg) {
        vf w = u * (float)(1.57079632679489662 * k);
        return (k / 2.f) / (one + w * w);
      }
      vf d = (u < 0.f ? -u : u) * k + one;
      return one / (d * d);
    };
    long i = a;
    for (; i + V <= b; i += V) vstore(out + i, vload(dy + i) * g(vload(x + i) - th));
    for (; i < b; i++) out[i] = dy[i] * g(vbcast(x[i] - threshold))[0];
  });
}

// ---------------------------------------------------------------- N-API glue
static float* floatArg(napi_env env, napi_value v, size_t* len) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &off) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, nullptr, "spikedrive kernels: expected a Float32Array");
    return nullptr;
  }
  *len = length;
  return static_cast<float*>(data);
}

static bool convArg(napi_env env, napi_value v, Conv* p) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &off) != napi_ok || type != napi_int32_array ||
      length < 15) {
    napi_throw_type_error(env, nullptr, "spikedrive kernels: expected Int32Array(15) conv dims");
    return false;
  }
  const int32_t* d = static_cast<int32_t*>(data);
  *p = Conv{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14]};
  if (p->N < 0 || p->H <= 0 || p->W <= 0 || p->Ci <= 0 || p->Co <= 0 || p->KH <= 0 || p->KW <= 0 || p->SH <= 0 ||
      p->SW <= 0 || p->DH <= 0 || p->DW <= 0 || p->OH <= 0 || p->OW <= 0) {
    napi_throw_range_error(env, nullptr, "spikedrive kernels: invalid conv dims");
    return false;
  }
  return true;
}

enum class Op { Forward, Filter, Input };

static napi_value convEntry(napi_env env, napi_callback_info info, Op op) {
  size_t argc = 8;
  napi_value args[8];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  if (argc < 5) {
    napi_throw_type_error(env, nullptr, "spikedrive kernels: expected (a, b, out, dims, threads)");
    return nullptr;
  }
  size_t la, lb, lo;
  float* a = floatArg(env, args[0], &la);
  if (!a) return nullptr;
  float* b = floatArg(env, args[1], &lb);
  if (!b) return nullptr;
  float* o = floatArg(env, args[2], &lo);
  if (!o) return nullptr;
  Conv p;
  if (!convArg(env, args[3], &p)) return nullptr;
  int32_t threads = 1;
  napi_get_value_int32(env, args[4], &threads);
  threads = std::max(1, std::min(threads, 64));
  const size_t xs = (size_t)(p.N * p.H * p.W * p.Ci), ws = (size_t)(p.Kd() * p.Co), ys = (size_t)(p.M() * p.Co);
  size_t need[3];
  if (op == Op::Forward) {
    need[0] = xs; need[1] = ws; need[2] = ys;
  } else if (op == Op::Filter) {
    need[0] = xs; need[1] = ys; need[2] = ws;
  } else {
    need[0] = ys; need[1] = ws; need[2] = xs;
  }
  if (la < need[0] || lb < need[1] || lo < need[2]) {
    napi_throw_range_error(env, nullptr, "spikedrive kernels: array shorter than the conv dims need");
    return nullptr;
  }
  // Optional forward epilogue: (bias Float32Array | null, activation code, alpha).
  Epilogue epi;
  if (op == Op::Forward && argc >= 7) {
    napi_valuetype bt;
    napi_typeof(env, args[5], &bt);
    if (bt == napi_object) {
      size_t lbias;
      epi.bias = floatArg(env, args[5], &lbias);
      if (!epi.bias) return nullptr;
      if ((long)lbias < p.Co) {
        napi_throw_range_error(env, nullptr, "spikedrive kernels: bias shorter than output channels");
        return nullptr;
      }
    }
    int32_t act = 0;
    napi_get_value_int32(env, args[6], &act);
    if (act < kLinear || act > kElu) {
      napi_throw_range_error(env, nullptr, "spikedrive kernels: unknown activation code");
      return nullptr;
    }
    epi.act = act;
    if (argc >= 8) {
      double alpha = 0.2;
      napi_get_value_double(env, args[7], &alpha);
      epi.alpha = (float)alpha;
    }
  }
  Env* e;
  napi_get_instance_data(env, reinterpret_cast<void**>(&e));
  if (p.N == 0) return nullptr;
  switch (op) {
    case Op::Forward: convForward(*e, threads, a, b, o, p, epi); break;
    case Op::Filter: convBackpropFilter(*e, threads, a, b, o, p); break;
    case Op::Input: convBackpropInput(*e, threads, a, b, o, p); break;
  }
  return nullptr;
}

static napi_value Conv2dForward(napi_env env, napi_callback_info info) { return convEntry(env, info, Op::Forward); }
static napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  return convEntry(env, info, Op::Filter);
}
static napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  return convEntry(env, info, Op::Input);
}

static bool numberArg(napi_env env, napi_value v, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    napi_throw_type_error(env, nullptr, "spikedrive kernels: expected a number");
    return false;
  }
  return true;
}

// spikeForward(x, out, threshold, gt, threads)
static napi_value SpikeForward(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  size_t lx, lo;
  float* x = floatArg(env, args[0], &lx);
  if (!x) return nullptr;
  float* o = floatArg(env, args[1], &lo);
  if (!o) return nullptr;
  double threshold, gt, threads;
  if (!numberArg(env, args[2], &threshold) || !numberArg(env, args[3], &gt) || !numberArg(env, args[4], &threads))
    return nullptr;
  if (lo < lx) {
    napi_throw_range_error(env, nullptr, "spikedrive kernels: output shorter than input");
    return nullptr;
  }
  Env* e;
  napi_get_instance_data(env, reinterpret_cast<void**>(&e));
  spikeForward(*e, std::max(1, (int)threads), x, o, (long)lx, (float)threshold, gt != 0);
  return nullptr;
}

// surrogateGrad(dy, x, out, threshold, kind, constant, threads)
static napi_value SurrogateGrad(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  size_t ld, lx, lo;
  float* dy = floatArg(env, args[0], &ld);
  if (!dy) return nullptr;
  float* x = floatArg(env, args[1], &lx);
  if (!x) return nullptr;
  float* o = floatArg(env, args[2], &lo);
  if (!o) return nullptr;
  double threshold, kind, k, threads;
  if (!numberArg(env, args[3], &threshold) || !numberArg(env, args[4], &kind) || !numberArg(env, args[5], &k) ||
      !numberArg(env, args[6], &threads))
    return nullptr;
  if (ld != lx || lo < lx || kind < 0 || kind > 2) {
    napi_throw_range_error(env, nullptr, "spikedrive kernels: bad surrogateGrad arguments");
    return nullptr;
  }
  Env* e;
  napi_get_instance_data(env, reinterpret_cast<void**>(&e));
  surrogateGrad(*e, std::max(1, (int)threads), dy, x, o, (long)lx, (float)threshold, (int)kind, (float)k);
  return nullptr;
}

static napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, simd, width, hw;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, kSimd, NAPI_AUTO_LENGTH, &simd);
  napi_create_int32(env, V, &width);
  napi_create_int32(env, (int32_t)std::thread::hardware_concurrency(), &hw);
  napi_set_named_property(env, obj, "simd", simd);
  napi_set_named_property(env, obj, "vectorFloats", width);
  napi_set_named_property(env, obj, "hardwareThreads", hw);
  return obj;
}

static void finalizeEnv(napi_env, void* data, void*) { delete static_cast<Env*>(data); }

NAPI_MODULE_INIT() {
  Env* e = new Env();
  napi_set_instance_data(env, e, finalizeEnv, nullptr);
  napi_property_descriptor props[] = {
      {"conv2dForward", nullptr, Conv2dForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"spikeForward", nullptr, SpikeForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"surrogateGrad", nullptr, SurrogateGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

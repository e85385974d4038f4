// A small persistent thread pool for the fp32 kernels: one worker per core beyond the caller's,
// started on first use and kept for the life of the process (never joined: an addon cannot know
// when the process ends). The caller takes part in the work, so a 2-core machine has 1 worker.
#pragma once

namespace frnn::cpu {

// Threads that can work on one parallel_for at once (workers + the caller). Env
// FUSEDRNN_CPU_THREADS caps it (1 = no pool); default: the cores this process may use.
int pool_threads();

// Runs fn(ctx, i) for i in [0, tasks) across the pool and returns when all are done. One
// parallel_for runs at a time: a call made while another is running (a second model on another
// thread, or a nested call) runs its tasks serially on its own thread instead of waiting.
void parallel_for(int tasks, void (*fn)(void* ctx, int i), void* ctx);

// Convenience for lambdas: parallel_for(n, [&](int i) { ... }).
template <typename Fn>
void parallel_for(int tasks, Fn&& fn) {
  parallel_for(
      tasks, [](void* c, int i) { (*static_cast<Fn*>(c))(i); }, const_cast<void*>(static_cast<const void*>(&fn)));
}

// fn(begin, end) over [0, total) cut into pieces of `piece` (the last one shorter), one task per
// piece. The pieces do not depend on the thread count, so neither does a result summed per piece.
template <typename Fn>
void parallel_for_pieces(long total, long piece, Fn&& fn) {
  parallel_for(static_cast<int>((total + piece - 1) / piece), [&](int i) {
    const long begin = i * piece;
    fn(begin, begin + piece < total ? begin + piece : total);
  });
}

}  // namespace frnn::cpu

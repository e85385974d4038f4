// A small persistent thread pool for the fp32 kernels: one worker per core beyond the caller's,
// started on first use and kept for the life of the process (never joined: an addon cannot know
// when the process ends). The caller takes part in the work, so a 2-core machine has 1 worker.
#pragma once

#include <atomic>
#include <type_traits>

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

// Runs fn(ctx, i) for i in [0, members) on `members` threads at once, the caller being member 0,
// and returns when all are done, rethrowing the first failure as parallel_for does. Unlike
// parallel_for's tasks, members may wait for one another (GangBarrier, gang_wait): a region that
// lasts many steps hands off with a spin on shared memory instead of a call per step. Returns
// false, having run nothing, when the pool cannot give that many threads now (busy, or smaller).
bool run_gang(int members, void (*fn)(void* ctx, int member), void* ctx);

template <typename Fn>
bool run_gang(int members, Fn&& fn) {
  using F = std::remove_reference_t<Fn>;
  return run_gang(
      members, [](void* c, int i) { (*static_cast<F*>(c))(i); }, const_cast<void*>(static_cast<const void*>(&fn)));
}

// Inside a gang: waits until ready() holds (spinning, then yielding the core) and returns true,
// or returns false once a member of the gang has failed: the caller then leaves its task, since
// the member it waits for may never come.
bool gang_wait(bool (*ready)(const void* ctx), const void* ctx);

template <typename Ready>
bool gang_wait(Ready&& ready) {
  using R = std::remove_reference_t<Ready>;
  return gang_wait([](const void* c) { return (*static_cast<const R*>(c))(); }, static_cast<const void*>(&ready));
}

// All members of a gang meet here, as often as they like; false as gang_wait.
class GangBarrier {
 public:
  explicit GangBarrier(int members) : members_(members) {}
  bool wait();

 private:
  const int members_;
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> phase_{0};
};

}  // namespace frnn::cpu

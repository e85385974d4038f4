// Force-included (-include) into every C++ file of the portable prebuild (FRNN_PORTABLE=ON).
// Linking against the build machine's glibc (2.36 on Debian 12) binds a few symbols to versions
// newer than Node 20's own floor (glibc 2.28): the libm functions rewritten in 2.29 and the
// pthread/dl/sem functions that moved into libc in 2.34. Pinning them to their baseline versions
// (x86-64: GLIBC_2.2.5; arm64: GLIBC_2.17, its first glibc; still exported by every newer glibc)
// lets the .node load wherever Node 20 runs. The 2.27 float versions (expf, logf, powf, ...) are left alone: 2.27 < 2.28, and their old
// versions are slower wrappers. Checked by `objdump -T prebuilds/linux-x64/*.node | grep GLIBC_`.
#pragma once
#if defined(__linux__)
#include <features.h>  // defines __GLIBC__ (on glibc only)
#endif
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__)) && defined(__GLIBC__)
#if defined(__x86_64__)
#define FRNN_GLIBC_PIN(sym) __asm__(".symver " #sym "," #sym "@GLIBC_2.2.5")
#else
#define FRNN_GLIBC_PIN(sym) __asm__(".symver " #sym "," #sym "@GLIBC_2.17")
#endif
// libm, new versions in 2.29
FRNN_GLIBC_PIN(exp);
FRNN_GLIBC_PIN(exp2);
FRNN_GLIBC_PIN(log);
FRNN_GLIBC_PIN(log2);
FRNN_GLIBC_PIN(pow);
// libpthread/libdl/librt -> libc in 2.34
FRNN_GLIBC_PIN(pthread_create);
FRNN_GLIBC_PIN(pthread_join);
FRNN_GLIBC_PIN(pthread_detach);
FRNN_GLIBC_PIN(pthread_once);
FRNN_GLIBC_PIN(pthread_key_create);
FRNN_GLIBC_PIN(pthread_key_delete);
FRNN_GLIBC_PIN(pthread_getspecific);
FRNN_GLIBC_PIN(pthread_setspecific);
FRNN_GLIBC_PIN(pthread_mutex_trylock);
FRNN_GLIBC_PIN(pthread_mutexattr_init);
FRNN_GLIBC_PIN(pthread_mutexattr_destroy);
FRNN_GLIBC_PIN(pthread_mutexattr_settype);
FRNN_GLIBC_PIN(pthread_attr_setstacksize);
FRNN_GLIBC_PIN(pthread_kill);
FRNN_GLIBC_PIN(pthread_sigmask);
FRNN_GLIBC_PIN(pthread_rwlock_init);
FRNN_GLIBC_PIN(pthread_rwlock_destroy);
FRNN_GLIBC_PIN(pthread_rwlock_rdlock);
FRNN_GLIBC_PIN(pthread_rwlock_wrlock);
FRNN_GLIBC_PIN(pthread_rwlock_unlock);
FRNN_GLIBC_PIN(sem_init);
FRNN_GLIBC_PIN(sem_destroy);
FRNN_GLIBC_PIN(sem_wait);
FRNN_GLIBC_PIN(sem_post);
FRNN_GLIBC_PIN(dlopen);
FRNN_GLIBC_PIN(dlsym);
FRNN_GLIBC_PIN(dlclose);
FRNN_GLIBC_PIN(dlerror);
FRNN_GLIBC_PIN(dladdr);
#undef FRNN_GLIBC_PIN

// libstdc++ (GCC >= 11) reads glibc 2.32's `__libc_single_threaded` to skip atomics in shared_ptr
// and friends; it is a data symbol with no older version. Redirect it to our own flag, always 0
// ("maybe multi-threaded"), so libstdc++ always takes the atomic path, which is always correct.
#if defined(__cplusplus) && __GLIBC_PREREQ(2, 32)
#define __libc_single_threaded frnn_libc_single_threaded
extern "C" {
__attribute__((weak, visibility("hidden"))) char frnn_libc_single_threaded = 0;
}
#endif
#endif  // glibc x86-64 / arm64

// libstdc++ of GCC >= 11 throws from `new T[n]` / std::allocator through
// std::__throw_bad_array_new_length(), exported only as GLIBCXX_3.4.29 (GCC 11's libstdc++, newer
// than RHEL 8's or Debian 10's). A local weak definition keeps the reference inside the .node;
// the exception type itself is old (CXXABI_1.3.8).
#if defined(__cplusplus) && defined(__linux__)
#include <new>
#if defined(__GLIBCXX__) && defined(_GLIBCXX_RELEASE) && _GLIBCXX_RELEASE >= 11
namespace std {
__attribute__((weak, visibility("hidden"), noreturn)) void __throw_bad_array_new_length() {
  throw bad_array_new_length();
}
}  // namespace std
#endif
#endif

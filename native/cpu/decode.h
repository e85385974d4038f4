// The CPU's Ops::decode for fp32: generation after the prime step in one gang of pool threads
// for the whole call (thread_pool.h), instead of a parallel call per layer and character. Member
// t keeps slice t of every layer's units (LayerStep), so its weights stay in its core's cache; the
// members meet once per layer, and member 0 runs the head and the draw while the others start
// the next character's recurrent product, which does not need the drawn token.
#pragma once

#include <atomic>

#include "../ops.h"

namespace frnn::cpu {

// Ops::decode's contract (ops.h) for float. Returns false, doing nothing, where a layer does not
// fit LayerStep or decoding is switched off (decode_members() == 0).
bool decode(const DecodeSpec<float>& d, int steps, const SampleConfig& sc, uint64_t seed, uint64_t first_draw,
            const int32_t* tokens, int32_t* drawn);

// Test switch: -1 (default) sizes the gang by the work, 0 leaves generation to the caller's
// per-character loop, n >= 1 asks for n members (at most the pool's threads).
std::atomic<int>& decode_members();

}  // namespace frnn::cpu

#include "batch_checks.h"

#include <string>

#include "../errors.h"

namespace frnn {

namespace {

void check_count(size_t got, size_t want, const std::string& what) {
  if (got != want) internal_error(what + " must have " + std::to_string(want) + " values, got " + std::to_string(got));
}

void check_range(int32_t v, int32_t lo, int32_t hi, const char* what) {
  if (v < lo || v > hi)
    internal_error(std::string(what) + " contains " + std::to_string(v) + ", expected " + std::to_string(lo) +
                   " <= value <= " + std::to_string(hi));
}

void check_memory(const NetworkConfig& cfg, const Batch& batch) {
  const int M = cfg.attention, B = batch.B, S = batch.memory_steps;
  if (M == 0) {
    if (!batch.memory.empty() || batch.memory_steps != 0 || !batch.memory_lengths.empty())
      internal_error("memory is only for a model with attention");
    return;
  }
  if (S < 1) internal_error("memorySteps must be >= 1 (the model attends over a memory)");
  check_count(batch.memory.size(), static_cast<size_t>(B) * S * M, "memory (batchSize * memorySteps * memorySize)");
  if (batch.memory_lengths.empty()) return;
  check_count(batch.memory_lengths.size(), B, "memoryLengths");
  for (int32_t len : batch.memory_lengths) check_range(len, 1, S, "memoryLengths");
}

}  // namespace

void check_tokens(const NetworkConfig& cfg, const std::vector<int32_t>& tokens, const char* what) {
  for (int32_t t : tokens) check_range(t, 0, cfg.vocab - 1, what);
}

void check_condition(const NetworkConfig& cfg, size_t values, int B) {
  check_count(values, static_cast<size_t>(B) * cfg.condition, "condition (batchSize * conditionSize)");
}

void check_batch(const NetworkConfig& cfg, const Batch& batch) {
  const int B = batch.B, T = batch.T;
  if (B < 1 || T < 1) internal_error("batch size and steps must be >= 1");
  const size_t BT = static_cast<size_t>(B) * T;
  const size_t rows = cfg.return_sequences ? BT : B;
  if (cfg.input == InputKind::Features) {
    check_count(batch.features.size(), BT * cfg.features, "inputs (B*T*features)");
  } else {
    check_count(batch.tokens.size(), BT, "inputs (B*T = " + std::to_string(BT) + " token ids)");
    check_tokens(cfg, batch.tokens, "inputs");
  }
  if (!batch.lengths.empty()) {
    check_count(batch.lengths.size(), B, "lengths");
    for (int32_t len : batch.lengths) check_range(len, 1, T, "lengths");
  }
  if (cfg.loss == LossKind::SoftmaxXent) {
    check_count(batch.class_targets.size(), rows, "targets");
    for (int32_t t : batch.class_targets) check_range(t, 0, cfg.output_width() - 1, "targets");
  } else {
    check_count(batch.value_targets.size(), rows * cfg.output_width(), "targets");
  }
  if (!batch.weights.empty()) check_count(batch.weights.size(), rows, "weights");
  // A condition may be left out when the batch starts from the carried state (forward checks).
  if (!batch.condition.empty() || cfg.condition == 0) check_condition(cfg, batch.condition.size(), B);
  check_memory(cfg, batch);
}

}  // namespace frnn

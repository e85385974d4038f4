#include "network_params.h"

#include <cmath>
#include <string>
#include <utility>

#include "../errors.h"
#include "../init.h"

namespace frnn {

namespace {

const char* cell_name(Cell c) {
  switch (c) {
    case Cell::LSTM: return "lstm";
    case Cell::GRU: return "gru";
    case Cell::RNN_TANH: return "rnn_tanh";
    case Cell::RNN_RELU: return "rnn_relu";
  }
  return "?";
}

size_t add(ParamLayout& layout, const std::string& name, std::vector<int> shape, bool trainable = true) {
  ParamInfo p;
  p.name = name;
  p.shape = std::move(shape);
  p.size = 1;
  for (int d : p.shape) p.size *= static_cast<size_t>(d);
  p.offset = layout.total;
  p.trainable = trainable;
  layout.total += p.size;
  layout.params.push_back(p);
  return p.offset;
}

}  // namespace

void NetworkConfig::validate() const {
  const auto positive = [](int v, const char* what) {
    if (v < 1 || v > (1 << 24)) range_error(std::string(what) + " must be an integer in [1, 16777216], got " + std::to_string(v));
  };
  switch (input) {
    case InputKind::Embedding:
      positive(vocab, "vocab");
      positive(embedding_dim, "embeddingDim");
      break;
    case InputKind::OneHot: positive(vocab, "vocab"); break;
    case InputKind::Features: positive(features, "features"); break;
    default: range_error("input must be 'embedding', 'oneHot' or 'features'");
  }
  if (layers.empty()) range_error("layers must hold at least one recurrent layer");
  for (size_t l = 0; l < layers.size(); ++l) {
    const RecurrentSpec& s = layers[l];
    const std::string at = "layers[" + std::to_string(l) + "]";
    positive(s.hidden, (at + ".hidden").c_str());
    if (s.cell != Cell::LSTM && s.cell != Cell::GRU && s.cell != Cell::RNN_TANH && s.cell != Cell::RNN_RELU)
      range_error(at + ".cell is not a known cell");
    if (s.peephole && s.cell != Cell::LSTM) range_error(at + ".peephole needs an LSTM cell, got " + cell_name(s.cell));
    if (s.reset_before && s.cell != Cell::GRU) range_error(at + ".resetBefore needs a GRU cell");
    for (double p : {s.dropout_input, s.dropout_output})
      if (!(p >= 0 && p < 1)) range_error(at + " dropout must be in [0, 1)");
  }
  if (condition < 0 || condition > (1 << 24)) range_error("conditionSize must be an integer in [0, 16777216]");
  if (attention < 0 || attention > (1 << 24)) range_error("attention.memorySize must be an integer in [1, 16777216]");
  if (attention > 0 && !return_sequences) range_error("attention needs output 'sequence'");
  if (attention > 0 && attention_dot && !layers.empty()) {
    const int width = layers.back().hidden * (layers.back().bidirectional ? 2 : 1);
    if (attention != width)
      range_error("attention score 'dot' needs memorySize equal to the last layer's output width " + std::to_string(width));
  }
  if (dense.empty()) range_error("dense must hold at least the output layer");
  for (size_t k = 0; k < dense.size(); ++k) positive(dense[k].units, ("dense[" + std::to_string(k) + "].units").c_str());
  if (loss != LossKind::SoftmaxXent && loss != LossKind::Mse) range_error("loss must be 'softmaxCrossEntropy' or 'mse'");
  if (loss == LossKind::SoftmaxXent && output_width() < 2) range_error("a softmax output needs at least 2 units");
  if (sampled_softmax < 0 || sampled_softmax > (1 << 20)) range_error("sampledSoftmax.samples must be an integer in [1, 1048576]");
  if (sampled_softmax > 0 && loss != LossKind::SoftmaxXent) range_error("sampledSoftmax needs the softmax cross-entropy loss");
  if (sampled_softmax > 0 && dense.back().activation != Activation::Linear)
    range_error("sampledSoftmax needs a linear output layer (the last dense layer's activation)");
  if (!std::isfinite(forget_bias)) range_error("forgetBias must be finite");
}

int NetworkConfig::input_width() const {
  return input == InputKind::Embedding ? embedding_dim : input == InputKind::OneHot ? vocab : features;
}

int NetworkConfig::output_width() const { return dense.back().units; }

ParamLayout plan_parameters(const NetworkConfig& cfg) {
  ParamLayout layout;
  int in = cfg.input_width();
  for (size_t l = 0; l < cfg.layers.size(); ++l) {
    const RecurrentSpec& s = cfg.layers[l];
    const int G = gate_count(s.cell), H = s.hidden, D = s.bidirectional ? 2 : 1;
    std::array<RecurrentOffsets, 2> dirs{};
    for (int d = 0; d < D; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      RecurrentOffsets& o = dirs[d];
      o.w_ih = add(layout, "rnn.weight_ih" + sfx, {G * H, in});
      o.w_hh = add(layout, "rnn.weight_hh" + sfx, {G * H, H});
      o.b_ih = add(layout, "rnn.bias_ih" + sfx, {G * H});
      o.b_hh = add(layout, "rnn.bias_hh" + sfx, {G * H});
      if (s.peephole) {
        // Named vectors, contiguous in slot order, so the op sees one [3H] block (gates.h).
        o.peephole = layout.total;
        for (const char* name : kPeepholeNames) add(layout, std::string("rnn.peephole_") + name + sfx, {H});
      }
    }
    layout.recurrent.push_back(dirs);
    in = H * D;
  }
  if (cfg.attention > 0) {
    const int H = in, M = cfg.attention;  // in: the stack's output width here
    if (!cfg.attention_dot) layout.attention_wa = add(layout, "attention.weight_a", {H, M});
    layout.attention_out.weight = add(layout, "attention.weight_c", {H, M + H});
    layout.attention_out.bias = add(layout, "attention.bias_c", {H});
  }
  for (size_t l = 0; cfg.condition > 0 && l < cfg.layers.size(); ++l) {
    std::array<DenseOffsets, 2> dirs{};
    for (int d = 0; d < (cfg.layers[l].bidirectional ? 2 : 1); ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      dirs[d].weight = add(layout, "condition.weight" + sfx, {cfg.layers[l].hidden, cfg.condition});
      dirs[d].bias = add(layout, "condition.bias" + sfx, {cfg.layers[l].hidden});
    }
    layout.condition.push_back(dirs);
  }
  for (size_t k = 0; k < cfg.dense.size(); ++k) {
    const std::string prefix = cfg.dense.size() == 1 ? "dense" : "dense" + std::to_string(k);
    DenseOffsets o;
    o.weight = add(layout, prefix + ".weight", {cfg.dense[k].units, in});
    o.bias = add(layout, prefix + ".bias", {cfg.dense[k].units});
    layout.dense.push_back(o);
    in = cfg.dense[k].units;
  }
  // A frozen embedding sits last, outside the trainable prefix that clipping and Adam sweep.
  layout.trainable = layout.total;
  if (cfg.input == InputKind::Embedding) {
    layout.embedding = add(layout, "embedding.weight", {cfg.vocab, cfg.embedding_dim}, !cfg.freeze_embedding);
    if (!cfg.freeze_embedding) layout.trainable = layout.total;
  }
  return layout;
}

std::vector<double> initial_parameters(const NetworkConfig& cfg, const ParamLayout& layout, ParallelFor parallel_for) {
  std::vector<double> values(layout.total, 0.0);
  // Each tensor draws from its own counter range: counter = its arena offset.
  const auto uniform = [&](size_t offset, size_t n, double bound) {
    init::uniform(values.data() + offset, n, -bound, bound, cfg.seed, offset);
  };
  // The orthogonal recurrent blocks are the costly part (O(H³) each, seconds at H = 1024): they
  // are independent, so they run through parallel_for (the thread pool), each into its own range
  // (the values do not depend on the thread count).
  std::vector<std::pair<size_t, int>> orthogonal_blocks;  // arena offset, H of an [H, H] block
  int in = cfg.input_width();
  for (size_t l = 0; l < cfg.layers.size(); ++l) {
    const RecurrentSpec& s = cfg.layers[l];
    const int G = gate_count(s.cell), H = s.hidden, D = s.bidirectional ? 2 : 1;
    for (int d = 0; d < D; ++d) {
      const RecurrentOffsets& o = layout.recurrent[l][d];
      const size_t n_ih = static_cast<size_t>(G) * H * in, n_hh = static_cast<size_t>(G) * H * H;
      if (cfg.init == InitScheme::PyTorch) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(H));
        uniform(o.w_ih, n_ih, bound);
        uniform(o.w_hh, n_hh, bound);
        uniform(o.b_ih, static_cast<size_t>(G) * H, bound);
        uniform(o.b_hh, static_cast<size_t>(G) * H, bound);
      } else {
        init::glorot_uniform(values.data() + o.w_ih, n_ih, in, static_cast<double>(G) * H, 1.0, cfg.seed, o.w_ih);
        for (int g = 0; g < G; ++g) orthogonal_blocks.emplace_back(o.w_hh + static_cast<size_t>(g) * H * H, H);
      }
      if (s.peephole) uniform(o.peephole, kPeepholeSlots * static_cast<size_t>(H), 1.0 / std::sqrt(static_cast<double>(H)));
      if (s.cell == Cell::LSTM) {
        // TF1's forget_bias, in bias_ih's f slice so PyTorch's layout holds it.
        for (int j = 0; j < H; ++j) values[o.b_ih + at(LstmGate::F, H) + j] += cfg.forget_bias;
      }
    }
    in = H * D;
  }
  const auto orthogonal_block = [&](int i) {
    const auto [block, H] = orthogonal_blocks[i];
    init::orthogonal(values.data() + block, H, H, 1.0, cfg.seed, block);
  };
  parallel_for(
      static_cast<int>(orthogonal_blocks.size()),
      [](void* ctx, int i) { (*static_cast<decltype(orthogonal_block)*>(ctx))(i); },
      const_cast<void*>(static_cast<const void*>(&orthogonal_block)));
  // Attention layers: glorot-uniform weights, zero bias, under either scheme.
  if (cfg.attention > 0) {
    const int M = cfg.attention;
    if (!cfg.attention_dot)
      init::glorot_uniform(values.data() + layout.attention_wa, static_cast<size_t>(in) * M, M, in, 1.0, cfg.seed,
                           layout.attention_wa);
    init::glorot_uniform(values.data() + layout.attention_out.weight, static_cast<size_t>(in) * (M + in), M + in, in,
                         1.0, cfg.seed, layout.attention_out.weight);
  }
  // Conditioning layers: glorot-uniform weights, zero biases, under either scheme.
  for (size_t l = 0; l < layout.condition.size(); ++l)
    for (int d = 0; d < (cfg.layers[l].bidirectional ? 2 : 1); ++d) {
      const size_t w = layout.condition[l][d].weight;
      init::glorot_uniform(values.data() + w, static_cast<size_t>(cfg.layers[l].hidden) * cfg.condition, cfg.condition,
                           cfg.layers[l].hidden, 1.0, cfg.seed, w);
    }
  for (size_t k = 0; k < cfg.dense.size(); ++k) {
    const DenseOffsets& o = layout.dense[k];
    const size_t n = static_cast<size_t>(cfg.dense[k].units) * in;
    if (cfg.init == InitScheme::PyTorch) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(in));
      uniform(o.weight, n, bound);
      uniform(o.bias, cfg.dense[k].units, bound);
    } else {
      init::glorot_uniform(values.data() + o.weight, n, in, cfg.dense[k].units, 1.0, cfg.seed, o.weight);
    }
    in = cfg.dense[k].units;
  }
  if (cfg.input == InputKind::Embedding) {
    // Keras' default embedding init; PyTorch's nn.Embedding draws N(0, 1).
    const size_t n = static_cast<size_t>(cfg.vocab) * cfg.embedding_dim;
    if (cfg.init == InitScheme::PyTorch)
      init::normal(values.data() + layout.embedding, n, 0.0, 1.0, cfg.seed, layout.embedding);
    else
      uniform(layout.embedding, n, 0.05);
  }
  return values;
}

}  // namespace frnn

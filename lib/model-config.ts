// The public model configuration: what Model.create builds a model from. Its defaults and checks
// live in lib/options/model-config.ts, which turns it into the binding's NativeModelConfig.

/** The recurrent cell: LSTM, GRU or vanilla (Elman) RNN. */
export type CellType = 'lstm' | 'gru' | 'rnn';

/** One recurrent layer of {@link ModelConfig.layers}: its cell, width, direction and dropout. */
export interface RecurrentLayerConfig {
  /** Default 'lstm'. */
  cell?: CellType;
  units: number;
  /** Vanilla RNN only: 'tanh' (default) or 'relu'. */
  activation?: 'tanh' | 'relu';
  bidirectional?: boolean;
  /** LSTM only: TF1-style peephole connections. */
  peephole?: boolean;
  /** GRU only: apply the reset gate before the recurrent product (TF1 GRUCell / tfjs); default after (PyTorch/cuDNN). */
  resetBefore?: boolean;
  /** Drop probability on this layer's input while training (textbook keep_prob 0.5 = dropout 0.5). */
  dropoutInput?: number;
  /** Drop probability on this layer's output while training. */
  dropoutOutput?: number;
}

/** One dense layer of {@link ModelConfig.dense}: `units` outputs, `'linear'` (default) or `'tanh'`; the last dense layer is the model's output. */
export interface DenseLayerConfig {
  units: number;
  activation?: 'linear' | 'tanh';
}

/** How tokens or features enter the first recurrent layer: a learned embedding (`frozen`: not trained), one-hot vectors, or `size` float features per step. */
export type InputConfig =
  | { type: 'embedding'; vocabSize: number; dim: number; frozen?: boolean }
  | { type: 'oneHot'; vocabSize: number }
  | { type: 'features'; size: number };

/**
 * Everything `Model.create` builds a model from: input, recurrent layers, head, loss, initialization and where it runs.
 * Validated on create: an unknown key or a bad value is a TypeError or RangeError naming the field.
 */
export interface ModelConfig {
  input: InputConfig;
  layers: RecurrentLayerConfig[];
  /** 'sequence': the head sees every step (default); 'last': only each sequence's last valid step. */
  output?: 'sequence' | 'last';
  /** Dense layers after the recurrent stack; the last one is the model output. */
  dense: DenseLayerConfig[];
  /** Default 'softmaxCrossEntropy'. */
  loss?: 'softmaxCrossEntropy' | 'mse';
  /** Weight initialisation: 'keras' (glorot input weights, orthogonal recurrent, default) or 'pytorch'. */
  init?: 'keras' | 'pytorch';
  /** LSTM forget-gate bias (TF1 forget_bias), default 1. */
  forgetBias?: number;
  /** Seeds initialisation and dropout; default 0. */
  seed?: number;
  /**
   * Conditioned models (the image-captioning pattern): features per sequence, passed as
   * `batch.condition` (and to generate() as `options.condition`), from which every recurrent
   * layer starts: h0 = tanh(W·condition + b), c0 = 0, trained end to end. A carried state, when
   * used, wins over the condition. Parameters `condition.weight_l{k}` and `condition.bias_l{k}`.
   */
  conditionSize?: number;
  /**
   * Sampled softmax for large output vocabularies: each training step scores the target and
   * `samples` classes drawn from a log-uniform (Zipf) distribution — so token ids should be ordered
   * by frequency, as WordVocabulary's are — instead of the whole vocabulary; evaluate, predict and
   * generate use the full softmax. A training step's accuracy is then over the candidates.
   */
  sampledSoftmax?: { samples: number };
  /**
   * Luong attention (decoders of encoder–decoders): each batch brings a memory (an encoder's
   * outputs, `memorySize` values per step) and every step's recurrent output h attends over its
   * valid steps — score h·W_a·m ('general', default) or h·m ('dot', memorySize = the last layer's
   * width) — and the head sees tanh(W_c [context; h] + b_c). Needs output 'sequence'.
   */
  attention?: { memorySize: number; score?: 'general' | 'dot' };
  /**
   * Default 'cpu'. 'cuda': the GPU (throws the probe's one-line reason when it cannot be used);
   * 'auto': the GPU when the CUDA build loaded, a driver answers, the device has code in the
   * build and the probe kernel ran, else the CPU (info().fallbackReason says why).
   */
  backend?: 'auto' | 'cpu' | 'cuda';
  /** CUDA device ordinal, default 0. */
  device?: number;
  /**
   * CUDA only: 'tf32' (default, like PyTorch's cuDNN path) runs the large matrix products on
   * TF32 tensor cores with fp32 accumulation; 'fp32' is exact fp32 everywhere.
   */
  precision?: 'tf32' | 'fp32';
  /** 'float32' (default) or 'float64' (the reference path, for checks). */
  dtype?: 'float32' | 'float64';
}

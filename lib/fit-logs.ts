// What fit's callbacks receive: a file of its own so lib/options/fit.ts can name the types
// without importing fit.ts, which imports it.

/** What `onBatchEnd` receives after every training step of {@link fit}. */
export interface BatchLog {
  /** 0-based, as EpochLog.epoch (progress output shows it 1-based: 'epoch 1/3'). */
  epoch: number;
  /** 1-based batch number within the epoch. */
  step: number;
  /** Training steps taken in this fit so far. */
  globalStep: number;
  loss: number;
  accuracy: number;
  gradNorm: number;
  learningRate: number;
}

/** What `onEpochEnd` receives after every epoch of {@link fit}, and one entry of {@link FitResult.history}. */
export interface EpochLog {
  /**
   * 0-based (Keras's convention for callbacks; history[i].epoch === i). Progress output shows it
   * 1-based ('epoch 1/3' is epoch 0).
   */
  epoch: number;
  /** Mean training loss over the epoch's rows (weighted as the batches weight them). */
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  batches: number;
  seconds: number;
  learningRate: number;
}

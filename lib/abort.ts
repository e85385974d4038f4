// Cancellation shared by every long call: the signal check, and the error a generation rejects
// with, which carries what was drawn before the abort.

/**
 * A generation stopped by its AbortSignal. `partial` holds what was produced before the abort
 * (tokens for Model.generate, text for sampleText/sampleTexts); `cause` is the signal's reason.
 */
export class AbortError<P = unknown> extends Error {
  override name = 'AbortError';

  /** `message` says what stopped and where; `cause` is the signal's reason. */
  constructor(
    message: string,
    /** What the call produced before it stopped. */
    readonly partial: P,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * options.signal, checked.
 * @returns the signal, or undefined when none was given.
 * @throws TypeError naming `where` when it is neither undefined nor an AbortSignal.
 */
export function checkSignal(signal: unknown, where = 'options.signal'): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`${where} must be an AbortSignal`);
  return signal;
}

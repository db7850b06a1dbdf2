/**
 * Error raised when pretrained weights cannot be loaded because the file is
 * missing or unreadable, or does not fit the model. The message names the
 * file, the layers involved and what to do. Retrying cannot help.
 */
export class PretrainedWeightsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PretrainedWeightsError';
  }
}

/** Thrown by the idempotency interceptor to answer with a stored response, exactly as first sent. */
export class ReplayedResponse extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super('replayed response');
    this.name = 'ReplayedResponse';
  }
}

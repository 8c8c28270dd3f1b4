/** Sync's error type and a small timeout helper shared by the engine. */

/** Stable codes for sync failures. */
export type SyncErrorCode = 'timeout' | 'stopped' | 'bad_message' | 'publish_failed'

export class SyncError extends Error {
  override readonly name = 'SyncError'
  readonly code: SyncErrorCode
  constructor(code: SyncErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Reject with SyncError('timeout') when `p` has not settled after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new SyncError('timeout', `no answer in ${ms} ms`)), ms)
    }),
  ])
}

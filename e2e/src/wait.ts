/** Bounded waiting for the system tests and the demo: every wait has a deadline and names what it waited for. */

/** Thrown when a wait passes its deadline. */
export class WaitTimeout extends Error {
  override readonly name = 'WaitTimeout'
  readonly code = 'timeout'
}

/** Poll `probe` until it returns something other than undefined/false; reject after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  o: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 15_000)
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new WaitTimeout(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 100))
  }
}

/** The first value `subscribe` reports that `match` accepts; reject after `timeoutMs`. */
export function nextEvent<T>(
  what: string,
  subscribe: (fn: (v: T) => void) => () => void,
  match: (v: T) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new WaitTimeout(`timed out waiting for ${what}`))
    }, timeoutMs)
    const off = subscribe((v) => {
      if (!match(v)) return
      clearTimeout(timer)
      off()
      resolve(v)
    })
  })
}

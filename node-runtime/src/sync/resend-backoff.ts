/**
 * How long the box waits for the bridge's ack of a batch before sending it again. A PUBACK only says the broker
 * has the bytes; while the bridge is down the broker queues them for the bridge's persistent session, so
 * re-sending at a fixed period only fills that queue with copies and burns a paid cellular link (the old
 * behaviour: every batch again every 15 s). The wait doubles after each expiry up to a cap, with jitter so a
 * fleet that lost the bridge together does not re-send in step. The re-send keeps its batch id and bytes,
 * so the bridge counts it as a re-delivery. Pure: the random source is injected (tests pin it).
 */

export interface ResendPolicy {
  /** Wait after the first send (config sync.ackTimeoutMs). */
  ackTimeoutMs: number
  /** Longest wait between two sends of one batch (config sync.resendMaxMs). */
  maxMs: number
  /** Fraction taken off at random, 0–1 (default 0.2: a wait lands in [0.8, 1] × the nominal one). */
  jitter?: number
}

/** The wait for an ack after send number `attempt` of a batch (0 = the first send), in ms. */
export function ackWaitMs(attempt: number, p: ResendPolicy, random: () => number = Math.random): number {
  const nominal = Math.min(p.maxMs, p.ackTimeoutMs * 2 ** Math.min(attempt, 30))
  const jitter = Math.min(1, Math.max(0, p.jitter ?? 0.2))
  const r = Math.min(1, Math.max(0, random()))
  return Math.max(1, Math.round(nominal * (1 - jitter * r)))
}

/** The send times of one never-acked batch over `horizonMs` (first send at 0): what a link pays for. */
export function resendSchedule(
  horizonMs: number,
  p: ResendPolicy,
  random: () => number = Math.random,
): number[] {
  const at = [0]
  for (let attempt = 0; ; attempt++) {
    const next = at[at.length - 1]! + ackWaitMs(attempt, p, random)
    if (next > horizonMs) return at
    at.push(next)
  }
}

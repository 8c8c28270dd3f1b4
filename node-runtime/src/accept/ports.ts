/**
 * The small interfaces acceptance needs besides the vault: the trusted clock (src/clock implements it) and
 * what the merchant sees and hears (GPIO in src/node/hardware.ts, log lines in simulation, tests record it).
 */

/** Time as the box trusts it: last time from the bridge plus monotonic time since. */
export interface ClockPort {
  /** Unix milliseconds. */
  now(): number
}

/** What the merchant sees and hears. Called only after the payment is durable. */
export interface SignalPort {
  /** `amount` in minor units of `currency` (logs and displays format it with the protocol's formatMoney). */
  accepted(info: { txId: string; amount: number; currency: string }): Promise<void> | void
  rejected(info: { code: string }): Promise<void> | void
}

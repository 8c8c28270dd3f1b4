/**
 * What the bridge may change in a box's config with a `config` command (SPEC.md §8): the merchant's exposure
 * limits, sync pacing and log level — never identity, keys, broker or hardware. Every section and field is
 * optional (a patch); unknown keys are refused here, before anything is sealed, so an operator's typo is an
 * error at the bridge rather than an override the box ignores at its next start.
 */
import { z } from 'zod'

const minor = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const ms = z.number().int().positive().max(86_400_000)

export const ConfigOverrideSchema = z
  .object({
    exposure: z.object({ maxUnsyncedTotal: minor, maxPerWalletPerDay: minor }).partial().strict().optional(),
    sync: z
      .object({
        batchSize: z.number().int().min(1).max(1000),
        window: z.number().int().min(1).max(64),
        ackTimeoutMs: ms,
        resendMaxMs: ms,
        statusIntervalMs: ms,
        reconnectMinMs: ms,
        reconnectMaxMs: ms,
      })
      .partial()
      .strict()
      .optional(),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']) })
      .partial()
      .strict()
      .optional(),
  })
  .strict()
  .refine((o) => Object.values(o).some((s) => s !== undefined && Object.keys(s).length > 0), {
    message: 'an override changes at least one field',
  })

/** A config patch the bridge may send a box. */
export type ConfigOverride = z.infer<typeof ConfigOverrideSchema>

/**
 * A later override patches an earlier one field by field within each section (raising one exposure limit keeps
 * the other). The bridge accumulates its operators' patches with it; the box merges what it receives with it.
 */
export function mergeConfigOverride(
  stored: Record<string, unknown> | undefined,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(stored ?? {}) }
  for (const [section, value] of Object.entries(patch)) {
    if (value === undefined) continue
    const before = out[section]
    out[section] =
      typeof value === 'object' && value !== null && typeof before === 'object' && before !== null
        ? { ...before, ...value }
        : value
  }
  return out
}

/** Errors of the provisioning tool: one class with a stable `code`, so the CLI can map them to exit codes. */

/** Stable codes for provisioning failures. */
export type ProvisionErrorCode =
  | 'bridge_refused'
  | 'bridge_unreachable'
  | 'certificate_invalid'
  | 'bundle_exists'
  | 'bundle_invalid'
  | 'not_online'
  | 'transfer_failed'
  | 'wrong_code'
  | 'box_locked'
  | 'box_unauthenticated'

/** A provisioning step failed; `cause` carries the underlying error where there is one. */
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError'
  readonly code: ProvisionErrorCode
  constructor(code: ProvisionErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.code = code
  }
}

/**
 * The demo's voice and its referee: prints each step in plain words and records every expected outcome, so
 * the demo (and the system test running it) can tell at the end whether everything went as it should.
 */
import { formatMoney } from '@opg/protocol'

/** One checked outcome. */
export interface Check {
  section: string
  label: string
  ok: boolean
  detail: string
}

export class Narrator {
  readonly checks: Check[] = []
  #section = ''
  readonly #out: (line: string) => void

  constructor(out: (line: string) => void = (l) => console.log(l)) {
    this.#out = out
  }

  section(title: string): void {
    this.#section = title
    this.#out(`\n━━ ${title}`)
  }

  say(text: string): void {
    this.#out(`   ${text}`)
  }

  /** Record that `actual` equals `expected`; prints ✓ or ✗ with both. */
  expect<T>(label: string, actual: T, expected: T): boolean {
    const ok = Object.is(actual, expected) || show(actual) === show(expected)
    return this.#record(label, ok, ok ? show(actual) : `got ${show(actual)}, expected ${show(expected)}`)
  }

  /** Record a condition with a description of what was seen. */
  check(label: string, ok: boolean, seen = ''): boolean {
    return this.#record(label, ok, seen)
  }

  /** Record a step that threw: a failure with the error's message. */
  fail(label: string, err: unknown): void {
    this.#record(label, false, err instanceof Error ? err.message : String(err))
  }

  get ok(): boolean {
    return this.checks.length > 0 && this.checks.every((c) => c.ok)
  }

  summary(): string {
    const failed = this.checks.filter((c) => !c.ok)
    return failed.length === 0
      ? `All ${this.checks.length} outcomes as expected.`
      : `${failed.length} of ${this.checks.length} outcomes NOT as expected:\n${failed
          .map((c) => `  ✗ [${c.section}] ${c.label}: ${c.detail}`)
          .join('\n')}`
  }

  #record(label: string, ok: boolean, detail: string): boolean {
    this.checks.push({ section: this.#section, label, ok, detail })
    this.#out(`   ${ok ? '✓' : '✗'} ${label}${detail ? ` — ${detail}` : ''}`)
    return ok
  }
}

/** A value as text for comparison and output; bigints (ledger amounts) included. */
function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x))
}

/** Minor units as money, through the protocol's money module: 1250 EUR → "12.50 EUR", 500 JPY → "500 JPY". */
export function money(amount: number | bigint, currency: string): string {
  return formatMoney(amount, currency)
}

/**
 * A check for text people read: no amount in minor units shown as if it were money. "250 EUR" (meaning
 * 2.50 EUR) is what a bare minor-unit amount next to a currency code looks like; "2.50 EUR" and "500 JPY"
 * (no minor digits) are fine. Used by the tests of every command's output and of the demo's narration.
 */
import { isCurrency, minorDigits } from '@opg/protocol'

/** The amounts in `line` that read as bare minor units of a currency with decimals, e.g. ["250 EUR"]. */
export function bareMinorAmounts(line: string): string[] {
  const found: string[] = []
  for (const m of line.matchAll(/(?<![\d.,])(\d[\d,]*(?:\.\d+)?)\s?([A-Z]{3})\b/g)) {
    const [all, amount, code] = m as unknown as [string, string, string]
    if (!isCurrency(code) || minorDigits(code) === 0) continue
    if (!amount.includes('.')) found.push(all)
  }
  return found
}

/** Every line of `text` that shows a bare minor-unit amount, with what was found. */
export function linesWithBareAmounts(text: string | string[]): { line: string; amounts: string[] }[] {
  const lines = Array.isArray(text) ? text.flatMap((l) => l.split('\n')) : text.split('\n')
  return lines.map((line) => ({ line, amounts: bareMinorAmounts(line) })).filter((x) => x.amounts.length > 0)
}

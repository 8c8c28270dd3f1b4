/**
 * Lists for people and for programs: a cli-table3 table on a terminal, JSON otherwise (or with --json), so
 * `opg-bridge payments | jq` works without a flag and an operator at a terminal reads columns.
 */
import Table from 'cli-table3'
import type { CliOutput } from './program.js'

/** A column: its heading and how to show one row's cell (already formatted: money through formatMoney). */
export interface Column<T> {
  head: string
  cell: (row: T) => string
  align?: 'left' | 'right'
}

/** Whether a list should print as JSON: asked for, or stdout is not a terminal (unless --table). */
export function listAsJson(io: CliOutput, flags: { json?: unknown; table?: unknown }): boolean {
  if (flags.json === true) return true
  if (flags.table === true) return false
  return io.stdoutIsTTY !== true
}

/** Render rows as a table (plain text, no colour codes, so it also reads in a log). */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const table = new Table({
    head: columns.map((c) => c.head),
    colAligns: columns.map((c) => c.align ?? 'left'),
    style: { head: [], border: [] },
  })
  for (const r of rows) table.push(columns.map((c) => c.cell(r)))
  return table.toString()
}

/** Print a list: JSON `{ [key]: data }` or a table (with `empty` when there is nothing). */
export function printList<T>(
  io: CliOutput,
  flags: { json?: unknown; table?: unknown },
  o: { key: string; data: unknown; rows: readonly T[]; columns: readonly Column<T>[]; empty: string },
): void {
  if (listAsJson(io, flags)) io.out(JSON.stringify({ [o.key]: o.data }))
  else io.out(o.rows.length ? renderTable(o.rows, o.columns) : o.empty)
}

/**
 * Progress of long work (sync of pending payments, enrolment, payouts, bundle transfer): a cli-progress bar
 * on a terminal, plain lines everywhere else (journald, pipes, tests), so a log still tells what happened.
 */
import cliProgress from 'cli-progress'
import type { CliOutput } from './program.js'

/** One piece of long work: steps done out of a total (when known), with a short note. */
export interface Progress {
  /** Move to `done` of `total` (total may change as work is discovered); `note` says what happened. */
  update(done: number, note: string, total?: number): void
  /** A step without a count (e.g. "bundle written"). */
  step(note: string): void
  /** End the bar; the final line is printed as a plain line in both modes. */
  finish(note?: string): void
}

/** Start reporting progress of `title` on `io`. */
export function startProgress(io: CliOutput, title: string, total = 0): Progress {
  const stream = io.progressStream
  if (!stream?.isTTY) {
    return {
      update: (done, note, t) => io.err(`${title}: ${note}${t ? ` (${done}/${t})` : ''}`),
      step: (note) => io.err(`${title}: ${note}`),
      finish: (note) => {
        if (note) io.err(`${title}: ${note}`)
      },
    }
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${title} [{bar}] {value}/{total} {note}`,
      hideCursor: true,
      clearOnComplete: true,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  )
  let t = Math.max(total, 1)
  bar.start(t, 0, { note: '' })
  return {
    update: (done, note, newTotal) => {
      if (newTotal !== undefined && newTotal !== t) {
        t = Math.max(newTotal, 1)
        bar.setTotal(t)
      }
      bar.update(done, { note })
    },
    step: (note) => bar.update({ note }),
    finish: (note) => {
      bar.stop()
      if (note) io.err(`${title}: ${note}`)
    },
  }
}

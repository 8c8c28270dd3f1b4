// The demo scenario as a system test on the embedded defaults (PGlite, in-process aedes broker): all five
// cases, every outcome as expected, the ledger balanced.

import { linesWithBareAmounts } from '@opg/testkit/money-lines.js'
import t from 'tap'
import { runDemo } from '../src/demo.js'

t.test('the demo scenario on embedded PGlite + aedes', async (t) => {
  const lines: string[] = []
  const { ok, narrator } = await runDemo({ out: (l) => lines.push(l), holdSeconds: 4 })
  const failed = narrator.checks.filter((c) => !c.ok)
  t.same(failed, [], 'no outcome differs from the expected one')
  t.ok(ok, 'the demo reports success')
  if (!ok) t.comment(lines.join('\n'))
  t.ok(narrator.checks.length >= 40, `${narrator.checks.length} outcomes checked`)
  t.ok(
    lines.some((l) => /\d+\.\d{2} EUR/.test(l)),
    'the narration shows amounts as money',
  )
  // The quoted `OPG1 PAID` SMS is the box's wire format (protocol/SPEC.md §9: minor units by design), not text
  // for a person; every other line must read as money.
  const forPeople = lines.filter((l) => !l.includes('OPG1 PAID'))
  t.ok(forPeople.length < lines.length, 'the wire SMS is quoted (and exempted on purpose)')
  t.same(linesWithBareAmounts(forPeople), [], 'and never minor units next to a currency code')
  for (const s of ['Case 1', 'Case 2', 'Case 3', 'Case 4', 'Case 5']) {
    t.ok(
      narrator.checks.some((c) => c.section.startsWith(s)),
      `${s} ran`,
    )
  }
})

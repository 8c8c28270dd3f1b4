// The packed payment-id table against a Map, through inserts that grow it, deletes and reinserts.
import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { TxIdTable } from '../../src/vault/tx-id-table.js'

t.test('agrees with a Map for UUIDs and other ids, through growth and deletes', async (t) => {
  const table = new TxIdTable()
  const model = new Map<string, number>()
  const ids: string[] = []
  let mismatches = 0
  for (let slot = 0; slot < 20_000; slot++) {
    const kind = slot % 10
    // Mostly canonical UUIDs; some ids the packing cannot take (upper case, other shapes) use the fallback.
    const id =
      kind === 7
        ? randomUUID().toUpperCase()
        : kind === 8
          ? `tx-${randomBytes(6).toString('hex')}`
          : randomUUID()
    table.set(id, slot)
    model.set(id, slot)
    ids.push(id)
    if (slot % 3 === 0) {
      const gone = ids[Math.floor(slot / 2)]!
      table.delete(gone)
      model.delete(gone)
    }
  }
  for (const id of ids) if (table.get(id) !== model.get(id)) mismatches++
  t.equal(mismatches, 0, 'every lookup agrees')
  t.equal(table.size, model.size)
  for (const [id, slot] of model) if (table.idAt(slot) !== id) mismatches++
  t.equal(mismatches, 0, 'every live slot gives back its id exactly')
  t.notOk(table.has(randomUUID()), 'an unknown id is absent')
  // A deleted id can come back at another slot.
  const [first] = model
  table.delete(first![0])
  t.notOk(table.has(first![0]))
  table.set(first![0], 99_999)
  t.equal(table.get(first![0]), 99_999)
  t.equal(table.idAt(99_999), first![0])
})

t.test('UUIDs differing in one byte are different ids', async (t) => {
  const table = new TxIdTable()
  const a = '0192f000-0000-7000-8000-000000000001'
  const b = '0192f000-0000-7000-8000-000000000002'
  table.set(a, 0)
  t.equal(table.get(a), 0)
  t.equal(table.get(b), undefined)
  table.set(b, 1)
  t.equal(table.get(b), 1)
  t.equal(table.idAt(0), a)
  t.equal(table.idAt(1), b)
})

t.test('36-character ids that are not canonical UUIDs keep their exact text', async (t) => {
  const table = new TxIdTable()
  const odd = [
    '0192f000-0000-7000-8000-00000000000g', // not hex
    '0192f0000-000-7000-8000-000000000001', // hyphen moved
    '0192F000-0000-7000-8000-000000000001', // upper case
  ]
  for (const [slot, id] of odd.entries()) table.set(id, slot)
  for (const [slot, id] of odd.entries()) {
    t.equal(table.get(id), slot)
    t.equal(table.idAt(slot), id)
  }
  t.equal(table.get('0192f000-0000-7000-8000-000000000001'), undefined, 'the lower-case form is another id')
})

import fc from 'fast-check'
import t from 'tap'
import {
  BLE_UUIDS,
  CHUNK_LAST,
  CHUNK_MORE,
  chunkMessage,
  DEFAULT_MAX_MESSAGE_SIZE,
  Reassembler,
} from '../src/ble-frame.js'
import { isProtocolError, ProtocolError } from '../src/errors.js'

function reassemble(chunks: Uint8Array[], r = new Reassembler()): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const c of chunks) {
    const m = r.push(c)
    if (m) out.push(m)
  }
  return out
}

t.test('UUIDs are distinct 128-bit values in the form bleno and noble use', async (t) => {
  const values = Object.values(BLE_UUIDS)
  t.equal(new Set(values).size, values.length)
  for (const v of values) t.match(v, /^[0-9a-f]{32}$/)
})

t.test('a 600-byte message at MTU 23 is 32 chunks of at most 20 bytes', async (t) => {
  const msg = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff)
  const chunks = chunkMessage(msg, 23)
  t.equal(chunks.length, Math.ceil(600 / 19))
  for (const c of chunks) t.ok(c.length <= 20)
  t.equal(chunks.at(-1)?.[0], CHUNK_LAST)
  t.ok(chunks.slice(0, -1).every((c) => c[0] === CHUNK_MORE))
  t.same(reassemble(chunks), [msg])
})

t.test('an empty message is one "last" chunk and round-trips', async (t) => {
  const chunks = chunkMessage(new Uint8Array(0), 185)
  t.same(chunks, [Uint8Array.of(CHUNK_LAST)])
  t.same(reassemble(chunks), [new Uint8Array(0)])
})

t.test('MTU outside 23..517 is refused', async (t) => {
  for (const mtu of [0, 22, 518, 23.5, Number.NaN]) {
    t.throws(() => chunkMessage(new Uint8Array(1), mtu), { code: 'bad_field' }, `mtu ${mtu}`)
  }
})

t.test('property: any message at any MTU 23..517 round-trips in chunks of at most MTU−3', async (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: DEFAULT_MAX_MESSAGE_SIZE }),
      fc.integer({ min: 23, max: 517 }),
      (msg, mtu) => {
        const chunks = chunkMessage(msg, mtu)
        if (!chunks.every((c) => c.length >= 1 && c.length <= mtu - 3)) return false
        const out = reassemble(chunks)
        return out.length === 1 && Buffer.from(out[0]!).equals(Buffer.from(msg))
      },
    ),
    { numRuns: 300 },
  )
  t.pass('round-trips')
})

t.test('property: back-to-back messages reassemble in order through one Reassembler', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 700 }), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 23, max: 517 }),
      (msgs, mtu) => {
        const out = reassemble(msgs.flatMap((m) => chunkMessage(m, mtu)))
        return out.length === msgs.length && out.every((m, i) => Buffer.from(m).equals(Buffer.from(msgs[i]!)))
      },
    ),
    { numRuns: 100 },
  )
  t.pass('in order')
})

t.test('property: arbitrary chunk sequences never throw anything but ProtocolError', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 30 }),
      fc.integer({ min: 0, max: 5000 }),
      (chunks, max) => {
        const r = new Reassembler({ maxMessageSize: max })
        for (const c of chunks) {
          try {
            const m = r.push(c)
            if (m && m.length > max) return false
          } catch (err) {
            if (!(err instanceof ProtocolError)) return false
          }
        }
        return r.pending <= max
      },
    ),
    { numRuns: 300 },
  )
  t.pass('only ProtocolError')
})

t.test('typed errors', async (t) => {
  const r = new Reassembler({ maxMessageSize: 10 })
  t.throws(() => r.push(new Uint8Array(0)), { code: 'truncated' })
  t.throws(() => r.push(Uint8Array.of(0x02, 1, 2)), { code: 'bad_encoding' })
  r.push(Uint8Array.of(CHUNK_MORE, 1, 2, 3, 4, 5, 6))
  t.equal(r.pending, 6)
  try {
    r.push(Uint8Array.of(CHUNK_LAST, 7, 8, 9, 10, 11))
    t.fail('should throw')
  } catch (err) {
    t.ok(isProtocolError(err, 'oversized'))
  }
  t.equal(r.pending, 0, 'nothing past the limit is buffered and the partial message is dropped')
  t.notOk(r.inProgress)
  t.same(r.push(Uint8Array.of(CHUNK_LAST, 1)), Uint8Array.of(1), 'usable after an error')
})

t.test('the reassembled message does not alias the chunk buffers', async (t) => {
  const chunk = Uint8Array.of(CHUNK_MORE, 1, 2)
  const r = new Reassembler()
  r.push(chunk)
  chunk[1] = 99
  t.same(r.push(Uint8Array.of(CHUNK_LAST, 3)), Uint8Array.of(1, 2, 3))
})

/**
 * Pre-allocated segments: zeros are written ahead of the commits so each commit overwrites allocated space
 * in place. Replay must read the zeros after the last frame as space not yet written — never as damage,
 * never as a torn tail of confirmed records — and still report confirmed records lost to zeros.
 */
import t from 'tap'
import { FileVault, SimFs, seededRandom, writeFileDurably } from '../../src/vault/index.js'
import { KEY, payment } from './fixtures.js'

const DIR = '/data/vault'
const SEG1 = `${DIR}/seg-000000000001.vlt`
const SEG2 = `${DIR}/seg-000000000002.vlt`
const BLOCK = 4096

const counters = (v: FileVault) => [...v.payments()].map((p) => p.counter).sort((a, b) => a - b)

t.test(
  'a segment is written ahead in extents; reopening keeps the zeros and goes on after the data',
  async (t) => {
    const fs = new SimFs()
    const opts = { dir: DIR, key: KEY, fs, preallocBytes: 4 * BLOCK }
    const v = await FileVault.open(opts)
    for (let i = 1; i <= 3; i++) await v.append(payment(i))
    t.equal(fs.peek(SEG1).length, 4 * BLOCK, 'one extent')
    await v.close()
    const w = await FileVault.open(opts)
    t.same(counters(w), [1, 2, 3])
    t.equal(w.tornBytes, 0, 'zeros are not a torn tail')
    t.same(w.damage, [], 'zeros are not damage')
    t.equal(fs.peek(SEG1).length, 4 * BLOCK, 'the pre-allocated zeros are kept')
    await w.append(payment(4))
    t.notOk(
      fs
        .peek(SEG1)
        .subarray(3 * BLOCK, 3 * BLOCK + 8)
        .every((b) => b === 0),
      'the next commit overwrites the first zero block',
    )
    await w.append(payment(5))
    t.equal(fs.peek(SEG1).length, 8 * BLOCK, 'the next extent is written when the first is full')
    await w.close()
    const x = await FileVault.open(opts)
    t.same(counters(x), [1, 2, 3, 4, 5])
    t.same(x.damage, [])
    await x.close()
  },
)

t.test('a segment cut while it was being pre-allocated holds nothing and is dropped', async (t) => {
  const fs = new SimFs()
  await fs.mkdir(DIR)
  await writeFileDurably(fs, SEG1, new Uint8Array(16 * BLOCK))
  const v = await FileVault.open({ dir: DIR, key: KEY, fs })
  t.equal(v.stats().records, 0)
  t.same(v.damage, [], 'an all-zero new segment is not damage')
  await v.append(payment(1))
  await v.close()
  const w = await FileVault.open({ dir: DIR, key: KEY, fs })
  t.same(counters(w), [1])
  await w.close()
})

t.test('a commit torn in the pre-allocated tail is cut; the journal goes on in place', async (t) => {
  const fs = new SimFs()
  const v = await FileVault.open({ dir: DIR, key: KEY, fs })
  for (let i = 1; i <= 3; i++) await v.append(payment(i))
  await v.settled()
  const mark = Buffer.from(fs.peek(`${DIR}/hwm`))
  await v.append(payment(4))
  await v.close()
  // The power went while payment 4 was written: half its frame on the card, zeros after, mark not moved.
  const bytes = Buffer.from(fs.peek(SEG1))
  bytes.fill(0, 3 * BLOCK + 300)
  const torn = new SimFs()
  await torn.mkdir(DIR)
  await writeFileDurably(torn, SEG1, bytes)
  await writeFileDurably(torn, `${DIR}/hwm`, mark)
  const w = await FileVault.open({ dir: DIR, key: KEY, fs: torn })
  t.same(counters(w), [1, 2, 3])
  t.ok(w.tornBytes > 0, 'the torn write is cut')
  t.same(w.damage, [], 'and it is not damage: it was never confirmed')
  await w.append(payment(5))
  await w.close()
  const x = await FileVault.open({ dir: DIR, key: KEY, fs: torn })
  t.same(counters(x), [1, 2, 3, 5])
  t.same(x.damage, [])
  await x.close()
})

t.test('a confirmed commit that reads back as zeros is reported, not taken for free space', async (t) => {
  const fs = new SimFs()
  const v = await FileVault.open({ dir: DIR, key: KEY, fs })
  for (let i = 1; i <= 4; i++) await v.append(payment(i))
  await v.settled()
  await v.close()
  // A card that acknowledged the flush of payment 4 but kept the zeros written ahead of it.
  const after = fs.crash(() => 0.9)
  after.poke(SEG1, 3 * BLOCK, new Uint8Array(BLOCK))
  const w = await FileVault.open({ dir: DIR, key: KEY, fs: after })
  t.same(counters(w), [1, 2, 3])
  t.equal(w.damage.length, 1)
  t.match(w.damage[0], { reason: 'missing_records', confirmed: true, missingRecords: 1 })
  await w.append(payment(5))
  await w.close()
})

t.test('a seal cut before its truncate: the segment gets its trailer back and stays sealed', async (t) => {
  const fs = new SimFs()
  const opts = { dir: DIR, key: KEY, fs, segmentBytes: 4 * BLOCK, preallocBytes: 4 * BLOCK }
  const v = await FileVault.open(opts)
  await v.append(payment(1))
  await v.settled()
  const mark = Buffer.from(fs.peek(`${DIR}/hwm`))
  // Payment 2 is written alone (block 1); 3 to 16 gather behind it and need three blocks, which do not
  // fit: segment 1 is sealed at block 2 (and cut to its seal), and the group goes to segment 2.
  await Promise.all([...Array(15).keys()].map((i) => v.append(payment(2 + i))))
  await v.close()
  const sealed = Buffer.from(fs.peek(SEG1))
  t.ok(sealed.length < 3 * BLOCK, 'the seal truncated the pre-allocated zeros')
  t.ok(fs.peek(SEG2).length > 0)
  // As found had the power gone between the seal's write and its truncate (segment 2 never made).
  const cut = new SimFs()
  await cut.mkdir(DIR)
  await writeFileDurably(cut, SEG1, Buffer.concat([sealed, Buffer.alloc(4 * BLOCK - sealed.length)]))
  await writeFileDurably(cut, `${DIR}/hwm`, mark)
  const w = await FileVault.open({ ...opts, fs: cut })
  t.same(counters(w), [1, 2])
  t.same(w.damage, [])
  t.same(Buffer.from(cut.peek(SEG1)), sealed, 'the segment is back to its seal and trailer')
  await w.append(payment(3))
  await w.close()
  const x = await FileVault.open({ ...opts, fs: cut })
  t.same(counters(x), [1, 2, 3])
  t.equal(x.sealedAtOpen, 1, 'segment 1 is read through its seal')
  t.same(x.damage, [])
  await x.close()
})

t.test('every acknowledged payment survives a cut anywhere across extents and seals', async (t) => {
  for (let seed = 1; seed <= 60; seed++) {
    const probe = new SimFs()
    const rng = seededRandom(seed)
    const opts = { dir: DIR, key: KEY, segmentBytes: 6 * BLOCK, preallocBytes: 2 * BLOCK }
    const v0 = await FileVault.open({ ...opts, fs: probe })
    const acked: number[] = []
    probe.cutAfter(Math.floor(rng() * 60))
    let next = 1
    for (let round = 0; round < 20; round++) {
      const group = 1 + Math.floor(rng() * 9)
      const ids = [...Array(group).keys()].map((i) => next + i)
      next += group
      try {
        await Promise.all(ids.map((i) => v0.append(payment(i))))
        acked.push(...ids)
      } catch {
        break
      }
    }
    const found = probe.crash(rng)
    const back = await FileVault.open({ ...opts, fs: found })
    for (const i of acked) if (!back.has(payment(i).txId)) t.fail(`seed ${seed}: payment ${i} lost`)
    t.same(back.damage, [], `seed ${seed}: a power cut is not damage`)
    await back.append(payment(10_000))
    await back.close()
    const again = await FileVault.open({ ...opts, fs: found })
    t.ok(again.has(payment(10_000).txId), `seed ${seed}: the journal goes on after the cut`)
    t.same(again.damage, [], `seed ${seed}: and reopens clean`)
    await again.close()
  }
})

/**
 * What only the file journal does: group commit, torn-tail repair, tamper detection, segments and
 * compaction, wrong key.
 */
import t from 'tap'
import { FileVault, SimFs, writeFileDurably } from '../../src/vault/index.js'
import { KEY, notice, OTHER_KEY, payment, plain, T0 } from './fixtures.js'

const DIR = '/data/vault'
const seg = (n: number) => `${DIR}/seg-${String(n).padStart(12, '0')}.vlt`

async function filled(n: number, segmentBytes = 1 << 20, preallocBytes?: number): Promise<SimFs> {
  const fs = new SimFs()
  const v = await FileVault.open({ dir: DIR, key: KEY, fs, segmentBytes, preallocBytes })
  for (let i = 1; i <= n; i++) await v.append(payment(i))
  await v.close()
  return fs
}

t.test('concurrent appends share one write and one fdatasync', async (t) => {
  const fs = new SimFs()
  const v = await FileVault.open({ dir: DIR, key: KEY, fs })
  const before = { ...fs.counters }
  let resolved = 0
  const all = [...Array(20).keys()].map((i) => v.append(payment(i + 1)).then(() => resolved++))
  t.equal(resolved, 0, 'nothing resolves before it is durable')
  await Promise.all(all)
  await v.settled()
  // The first append starts a write at once; the other 19 arrive during its fdatasync and go together.
  // (The high-water mark's own writes run beside the commits, never on their path: counted apart, as is
  // the one write of zeros that pre-allocated the segment's first extent.)
  const marks = v.flashBytes.markWrites
  t.equal(v.flashBytes.zeros, 256 * 1024, 'one extent of zeros written ahead of the commits')
  t.equal(fs.counters.datasyncs - before.datasyncs - marks - 1, 2)
  t.equal(fs.counters.writes - before.writes - marks - (256 * 1024) / 4096, 2)
  t.equal(v.stats().records, 20)
  await v.close()
})

t.test('a torn last record is cut away and the journal goes on (appended segments)', async (t) => {
  // Built on the append layout (preallocBytes 0), where the file's length is where the data ends;
  // flash.test.ts covers pre-allocated segments.
  const APPEND = { preallocBytes: 0 }
  for (const cut of [1, 30, 52, 100, 'zeros'] as const) {
    const fs = await filled(5, 1 << 20, 0)
    const full = fs.peek(seg(1)).length
    const last = await (async () => {
      const v = await FileVault.open({ dir: DIR, key: KEY, fs, ...APPEND })
      await v.append(payment(6))
      await v.close()
      return fs.peek(seg(1)).length - full
    })()
    const keep = cut === 'zeros' ? last : cut
    // Rebuild the file as a power cut would leave it: the last record partly written (or zero-filled).
    const bytes = fs.peek(seg(1)).slice(0, full + keep)
    if (cut === 'zeros') bytes.fill(0, full + 10)
    const torn = new SimFs()
    await torn.mkdir(DIR)
    await writeFileDurably(torn, seg(1), bytes)
    const v = await FileVault.open({ dir: DIR, key: KEY, fs: torn, ...APPEND })
    t.equal(v.stats().records, 5, `cut ${cut}: the five whole records remain`)
    t.equal(v.tornBytes, keep, `cut ${cut}: the torn bytes are reported`)
    t.notOk(v.has(payment(6).txId))
    await v.append(payment(7))
    await v.close()
    const again = await FileVault.open({ dir: DIR, key: KEY, fs: torn, ...APPEND })
    t.same(
      [...again.payments()].map((p) => p.counter),
      [1, 2, 3, 4, 5, 7],
    )
    t.equal(again.tornBytes, 0)
    await again.close()
  }
})

t.test('a damaged record is quarantined and reported; every intact payment is kept', async (t) => {
  const fs = await filled(6)
  const bytes = fs.peek(seg(1))
  const hwm = fs.peek(`${DIR}/hwm`)
  // Each commit starts on its own 4 KiB block: frame 1 after the 32-byte header, frame n at (n-1)·4096.
  const cases = {
    'frame 1 header': 40,
    'frame 1 body': 200,
    'frame 3 body': 2 * 4096 + 100,
    'last frame': 5 * 4096 + 300,
  }
  for (const [name, at] of Object.entries(cases)) {
    const copy = new SimFs()
    await copy.mkdir(DIR)
    const b = bytes.slice()
    b[at] = (b[at] ?? 0) ^ 0x01
    await writeFileDurably(copy, seg(1), b)
    await writeFileDurably(copy, `${DIR}/hwm`, hwm)
    const v = await FileVault.open({ dir: DIR, key: KEY, fs: copy })
    const damaged = Math.floor(at / 4096) + 1
    const intact = [1, 2, 3, 4, 5, 6].filter((i) => i !== damaged)
    for (const i of intact) t.ok((await v.get(payment(i).txId)) !== undefined, `${name}: payment ${i} kept`)
    t.equal(v.damage.length, 1, `${name}: the damage is reported`)
    const d = v.damage[0]!
    t.match(d, { reason: 'damaged_frame', segment: 1, confirmed: true }, name)
    t.ok(d.quarantined && copy.paths().includes(`${DIR}/${d.quarantined}`), `${name}: bytes quarantined`)
    t.equal(v.tornBytes, 0, `${name}: nothing cut`)
    if (v.has(payment(damaged).txId)) {
      // Salvaged from the readable start of the frame: the same token cannot be taken twice.
      t.equal(v.summary(payment(damaged).txId)?.damaged, true)
      await t.rejects(v.append(payment(damaged)), { code: 'duplicate_tx' }, `${name}: replay refused`)
    } else t.equal(name, 'frame 1 header', 'only a destroyed header leaves nothing to salvage')
    // The box goes on taking payments, on a fresh segment: the damaged one is never sealed over.
    await v.append(payment(7))
    await v.close()
    const again = await FileVault.open({ dir: DIR, key: KEY, fs: copy })
    t.ok(again.has(payment(7).txId))
    t.equal(again.damage.length, 1, `${name}: still reported after a restart`)
    await again.close()
  }
})

t.test('reordered or removed records are reported, authentic ones kept', async (t) => {
  const fs = await filled(4)
  const b = Buffer.from(fs.peek(seg(1)))
  // One commit per 4 KiB block; the first block also holds the segment header.
  const block = (i: number) => b.subarray(i * 4096, (i + 1) * 4096)
  const swapped = Buffer.concat([block(0), block(2), block(1), block(3)])
  const removed = Buffer.concat([block(0), block(2), block(3)])
  const duplicated = Buffer.concat([block(0), block(1), block(1), block(2), block(3)])
  const expect = {
    swapped: { reasons: ['chain_gap', 'out_of_order'], kept: [1, 2, 3, 4] },
    removed: { reasons: ['chain_gap'], kept: [1, 3, 4] },
    duplicated: { reasons: ['out_of_order'], kept: [1, 2, 3, 4] },
  }
  for (const [name, bytes] of Object.entries({ swapped, removed, duplicated })) {
    const copy = new SimFs()
    await copy.mkdir(DIR)
    await writeFileDurably(copy, seg(1), bytes)
    const v = await FileVault.open({ dir: DIR, key: KEY, fs: copy })
    const e = expect[name as keyof typeof expect]
    t.same(
      v.damage.map((d) => d.reason),
      e.reasons,
      name,
    )
    t.same([...v.payments()].map((p) => p.counter).sort(), e.kept, `${name}: payments kept`)
    await v.close()
  }
})

t.test('the wrong key is told apart from damage', async (t) => {
  const fs = await filled(2)
  await t.rejects(FileVault.open({ dir: DIR, key: OTHER_KEY, fs }), { code: 'wrong_key' })
})

t.test('segments roll over, and compaction keeps synced history bounded', async (t) => {
  const fs = new SimFs()
  const retention = { maxSynced: 10, protectMs: 0, maxAgeMs: 365 * 86_400_000 }
  // Four 4 KiB commits per segment.
  const v = await FileVault.open({ dir: DIR, key: KEY, fs, segmentBytes: 4 * 4096, retention })
  for (let i = 1; i <= 200; i++) {
    await v.append(payment(i))
    if (i === 5) await v.append(notice(1, { receivedAt: T0 }))
  }
  t.ok(v.stats().segments > 20, `${v.stats().segments} segments`)
  // Everything synced except three old payments, which must outlive the segments they were written in.
  const keep = [2, 50, 120].map((i) => payment(i).txId)
  await v.markSynced([...v.payments()].map((p) => p.txId).filter((id) => !keep.includes(id)))
  const bytesBefore = v.stats().bytes
  const r = await v.compact(T0 + 86_400_000)
  t.ok(r.segmentsRemoved > 0)
  t.equal(r.carried, 4, 'three unsynced payments and one notice copied forward')
  const after = v.stats()
  t.ok(after.records <= 3 + 10 + 8, `${after.records} payments kept`)
  t.ok(after.bytes < bytesBefore / 4, `${after.bytes} bytes kept of ${bytesBefore}`)
  for (const id of keep) t.ok(v.has(id))
  await v.close()
  const w = await FileVault.open({ dir: DIR, key: KEY, fs, segmentBytes: 4 * 4096, retention })
  t.same(
    (await w.unsynced()).map((p) => p.counter),
    [2, 50, 120],
  )
  t.same(plain(await w.get(payment(120).txId)), plain(payment(120)))
  t.ok(w.hasNotice('INV-1'))
  t.equal(w.stats().records, after.records)
  await w.close()
})

t.test('a removed segment or a replayed old anchor is detected and reported', async (t) => {
  const fs = new SimFs()
  const retention = { maxSynced: 0, protectMs: 0, maxAgeMs: 365 * 86_400_000 }
  const opts = { dir: DIR, key: KEY, fs, segmentBytes: 2048, retention }
  const v = await FileVault.open(opts)
  for (let i = 1; i <= 30; i++) await v.append(payment(i))
  await v.markSynced([...Array(10).keys()].map((i) => payment(i + 1).txId))
  await v.compact(T0 + 86_400_000)
  const oldAnchor = fs.peek(`${DIR}/anchor`).slice()
  await v.markSynced([...Array(10).keys()].map((i) => payment(i + 11).txId))
  await v.compact(T0 + 86_400_000)
  await v.close()
  const segs = fs.paths().filter((p) => p.endsWith('.vlt'))
  t.ok(segs.length >= 3)

  // Each is reported as a gap in the chain; the box still opens with every payment still on flash.
  const opened = async (name: string, f: SimFs) => {
    const w = await FileVault.open({ ...opts, fs: f })
    t.ok(
      w.damage.some((d) => d.reason === 'chain_gap' && d.confirmed),
      `${name}: reported`,
    )
    for (let i = 21; i <= 30; i++) t.ok(w.has(payment(i).txId) || name.includes('removed'), `${name}: ${i}`)
    await w.close()
    return w
  }
  const replayed = fs.crash(() => 0.4)
  replayed.poke(`${DIR}/anchor`, 0, oldAnchor)
  await opened('old anchor', replayed)

  const holed = fs.crash(() => 0.4)
  await holed.unlink(segs[1]!)
  await opened('middle segment removed', holed)

  const headless = fs.crash(() => 0.4)
  await headless.unlink(segs[0]!)
  await opened('first segment removed', headless)

  const anchorless = fs.crash(() => 0.4)
  await anchorless.unlink(`${DIR}/anchor`)
  await opened('anchor', anchorless)
})

t.test('full segments are sealed and checked at open by their seal alone', async (t) => {
  const fs = new SimFs()
  const opts = { dir: DIR, key: KEY, fs, segmentBytes: 4096 }
  const v = await FileVault.open(opts)
  for (let i = 1; i <= 60; i++) await v.append(payment(i))
  await v.markSynced([payment(3).txId])
  await v.append(notice(1))
  const before = [...v.payments()]
  const segments = v.stats().segments
  await v.close()
  const w = await FileVault.open(opts)
  t.equal(w.sealedAtOpen, segments - 1, 'every full segment is checked by its seal')
  t.same([...w.payments()], before)
  t.same(plain(await w.get(payment(2).txId)), plain(payment(2)))
  t.ok(w.hasNotice('INV-1'))
  await w.close()

  // Damage anywhere in a sealed segment: in a record, in the seal, in the trailer. The seal no longer
  // checks out, the segment is replayed record by record, and only a damaged record is missing.
  const first = fs.peek(seg(1))
  for (const at of [100, first.length - 40, first.length - 3]) {
    const copy = fs.crash(() => 0.4)
    copy.poke(seg(1), at, new Uint8Array([(first[at] ?? 0) ^ 0x10]))
    const d = await FileVault.open({ ...opts, fs: copy })
    t.equal(d.damage.length, 1, `byte ${at} of a sealed segment is reported`)
    // That segment (and, after a damaged seal, the next one) is replayed record by record.
    t.ok(
      d.sealedAtOpen >= segments - 3 && d.sealedAtOpen < segments - 1,
      `byte ${at}: replayed record by record`,
    )
    for (let i = 2; i <= 60; i++) if (!d.has(payment(i).txId)) t.fail(`byte ${at}: payment ${i} lost`)
    await d.close()
  }
})

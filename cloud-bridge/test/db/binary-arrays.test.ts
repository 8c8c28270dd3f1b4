// Array parameters in binary on PostgreSQL: a statement's `$n::type[]` casts are found once, each array whose
// elements all convert exactly is sent in binary, and the server reads the same values it read from the text
// form; anything that does not convert goes as text and meets the same errors as before.
import fc from 'fast-check'
import t from 'tap'
import { arrayCasts, encodeArray } from '../../src/db/binary-arrays.js'
import { isDbError } from '../../src/db/errors.js'
import { openDb } from '../../src/db/open.js'
import { createTestDb, postgresAvailable, TEST_PG_URL } from '../support/databases.js'

t.test('casts are read from the statement text', async (t) => {
  t.same(arrayCasts('SELECT * FROM unnest($1::text[], $2 :: BIGINT [], $4::uuid[])'), [
    'text',
    'bigint',
    undefined,
    'uuid',
  ])
  t.equal(arrayCasts('SELECT $1::text, $2::jsonb[]'), null, 'no encodable array cast')
  t.equal(arrayCasts('SELECT $1::text[] UNION SELECT $1::uuid[]'), null, 'two casts of one parameter: text')
  t.same(arrayCasts('SELECT $2::int[], $2::int[]'), [undefined, 'int'], 'the same cast twice is one')
})

t.test('elements that do not convert exactly leave the array to the text form', async (t) => {
  t.equal(encodeArray('uuid', ['not-a-uuid']), null)
  t.equal(encodeArray('uuid', ['0190f3c46-a1b-7c2d-8e3f-4a5b6c7d8e9f']), null, 'a dash out of place')
  t.equal(encodeArray('uuid', ['0190f3c4-6a1b-7c2d-8e3f-4a5b6c7d8e9g']), null, 'not hex')
  t.equal(encodeArray('uuid', ['0190f3c46a1b7c2d8e3f4a5b6c7d8e9f']), null, 'no dashes: the server reads it')
  t.equal(encodeArray('bigint', [1.5]), null)
  t.equal(encodeArray('bigint', [2 ** 53]), null, 'an unsafe number: toParam refuses it')
  t.equal(encodeArray('bigint', ['12a']), null)
  t.equal(encodeArray('bigint', [2n ** 63n]), null, 'beyond int8')
  t.equal(encodeArray('int', [2 ** 31]), null, 'beyond int4')
  t.equal(encodeArray('text', [{}]), null)
  t.equal(encodeArray('timestamptz', [new Date(Number.NaN)]), null)
  t.equal(encodeArray('timestamptz', ['2026-01-01']), null, 'a string is the server’s to parse')
  t.equal(encodeArray('bytea', ['\\x00']), null)
  t.equal(encodeArray('jsonb', [1]), null, 'not a binary type here')
  t.ok(encodeArray('bigint', [1n, -1, '42', null]), 'bigint, number, integer text and NULL')
  t.same([...encodeArray('int', [])!], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23], 'empty: no dimensions')
})

const available = await postgresAvailable()
if (!available && process.env.CI) t.fail(`PostgreSQL is not reachable at ${TEST_PG_URL}`)

t.test('on PostgreSQL', { skip: available ? false : `no PostgreSQL at ${TEST_PG_URL}` }, async (t) => {
  const scratch = await createTestDb('postgres')
  t.teardown(() => scratch.drop())
  const db = await openDb(scratch.url, { max: 1 })
  t.teardown(() => db.close())

  // `$1::T[]` is sent in binary; `CAST($2 AS T[])` is not matched, so the same array goes as the driver's text.
  const both = async (type: string, values: unknown[]) => {
    const r = await db.query<{ b: string; t: string }>(
      `SELECT $1::${type}[]::text AS b, CAST($2 AS ${type}[])::text AS t`,
      [values, values],
    )
    return r.rows[0]!
  }
  const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 6 })
  const same = async (type: string, arb: fc.Arbitrary<unknown>, examples: unknown[][] = []) =>
    fc.assert(
      fc.asyncProperty(fc.array(nullable(arb), { maxLength: 12 }), async (values) => {
        const { b, t: text } = await both(type, values)
        return b === text
      }),
      { numRuns: 150, examples: examples.map((e) => [e]) },
    )

  await t.test('every type reads back as its text form did', async (t) => {
    const noNul = fc.string({ unit: 'binary' }).map((s) => s.replace(/\0/g, ''))
    await same('text', fc.oneof(noNul, fc.constantFrom('NULL', '"', '\\', '{a,b}', ' ', 'é€😀')), [
      [],
      [null],
      ['NULL', null, ''],
    ])
    const int8 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    await same('bigint', fc.oneof(int8, fc.maxSafeInteger(), int8.map(String)), [
      [-(2n ** 63n), 2n ** 63n - 1n, 0, -1, '-9007199254740993', '123456789012345'],
    ])
    await same('int', fc.integer(), [[-(2 ** 31), 2 ** 31 - 1]])
    await same(
      'uuid',
      fc.uuid().chain((u) => fc.constantFrom(u, u.toUpperCase())),
    )
    await same('bytea', fc.uint8Array({ maxLength: 300 }), [[new Uint8Array(0)]])
    // The text form of a Date is the driver's local time with its offset; both name the same instant.
    const date = fc.date({
      min: new Date('0001-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59Z'),
      noInvalidDate: true,
    })
    await same('timestamptz', date, [[new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999)), new Date(0)]])
    await same('boolean', fc.boolean())
    // Strings near a uuid's form: canonical ones go in binary, the rest as text; the server judges both alike.
    const nearUuid = fc.string({
      unit: fc.constantFrom(...'0123456789abcdefABCDEF-g{}'),
      minLength: 30,
      maxLength: 38,
    })
    await fc.assert(
      fc.asyncProperty(fc.oneof(nearUuid, fc.uuid()), async (u) => {
        const run = (sql: string) =>
          db.query<{ v: string }>(sql, [[u]]).then(
            (r) => r.rows[0]!.v,
            (err: { code?: string }) => `error ${err.code}`,
          )
        return (
          (await run('SELECT $1::uuid[]::text AS v')) === (await run('SELECT CAST($1 AS uuid[])::text AS v'))
        )
      }),
      { numRuns: 300 },
    )
    t.pass('binary and text agree on every generated array')
  })

  await t.test("the bytes sent are the server's own binary form (array_send)", async (t) => {
    const send = async (type: string, values: unknown[]) => {
      const r = await db.query<{ s: Buffer }>(`SELECT array_send(CAST($1 AS ${type}[])) AS s`, [values])
      return r.rows[0]!.s
    }
    const cases: [string, unknown[]][] = [
      ['text', ['a', null, 'é€😀', '']],
      ['bigint', [-(2n ** 63n), 2n ** 63n - 1n, -1, 0, '4294967296', null]],
      ['int', [-(2 ** 31), 2 ** 31 - 1, null]],
      ['uuid', ['0190f3c4-6a1b-7c2d-8e3f-4a5b6c7d8e9f', null]],
      ['bytea', [new Uint8Array([0, 1, 254, 255]), new Uint8Array(0), null]],
      [
        'timestamptz',
        [new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999)), new Date(Date.UTC(2000, 0, 1)), null],
      ],
      ['boolean', [true, false, null]],
      ['text', []],
    ]
    for (const [type, values] of cases) {
      t.same([...encodeArray(type, values)!], [...(await send(type, values))], `${type} ${values.length}`)
    }
    const noNulls = await send('bigint', [1n])
    t.equal(noNulls.readInt32BE(4), 0, 'no NULL: the flag is clear')
    t.same([...encodeArray('bigint', [1n])!], [...noNulls])
  })

  await t.test('input that does not convert meets the errors it met as text', async (t) => {
    const codeOf = async (sql: string, params: unknown[]) => {
      try {
        await db.query(sql, params)
        return 'ok'
      } catch (err) {
        return isDbError(err) ? err.code : ((err as { code?: string }).code ?? String(err))
      }
    }
    t.equal(
      await codeOf('SELECT $1::uuid[]', [['nope']]),
      await codeOf('SELECT CAST($1 AS uuid[])', [['nope']]),
    )
    t.not(await codeOf('SELECT $1::uuid[]', [['nope']]), 'ok')
    t.equal(await codeOf('SELECT $1::bigint[]', [[2 ** 53]]), 'unsafe_integer')
    t.equal(
      await codeOf('SELECT $1::bigint[]', [[1.5]]),
      await codeOf('SELECT CAST($1 AS bigint[])', [[1.5]]),
    )
    t.equal(
      await codeOf('SELECT $1::int[]', [[2 ** 31]]),
      await codeOf('SELECT CAST($1 AS int[])', [[2 ** 31]]),
    )
  })
})

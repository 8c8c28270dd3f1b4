// Table-driven tests of the reconciliation rules: records + clock in, steps out. No database.
import t from 'tap'
import {
  planApprovals,
  planArrivals,
  planClaim,
  planPurseRelease,
  planResolve,
} from '../../src/reconcile/planner.js'
import {
  DEFAULT_RECONCILE_CONFIG as CFG,
  type PaymentRecord,
  type PurseRecord,
  type Side,
  type Step,
  type TokenFacts,
} from '../../src/reconcile/types.js'

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0)
const H = 3600_000
const W = 'aaaaaaaaaaaaaaaa'
const M = 'bbbbbbbbbbbbbbbb'

function tok(over: Partial<TokenFacts> = {}): TokenFacts {
  const txId = over.txId ?? 'tx-1'
  return {
    txId,
    tenantId: 't1',
    walletId: W,
    merchantId: M,
    deviceId: 'dddddddddddddddd',
    amount: 500,
    currency: 'EUR',
    counter: 1,
    purseId: `${W}:0`,
    purseAmount: 2000,
    purseExpiresAt: T0 + 72 * H,
    token: new TextEncoder().encode(txId),
    tokenHash: `h-${txId}`,
    // Synthetic bytes: no hash chain to check (every link empty), counters from base 0.
    counterBase: 0,
    prevHash: '',
    link: '',
    chainStart: '',
    ...over,
  }
}

function rec(over: Partial<PaymentRecord> = {}): PaymentRecord {
  const t0 = tok({ txId: over.txId ?? 'tx-1' })
  return {
    txId: t0.txId,
    tenantId: 't1',
    walletId: W,
    merchantId: M,
    deviceId: t0.deviceId,
    purseId: t0.purseId,
    amount: 500,
    currency: 'EUR',
    counter: 1,
    token: t0.token,
    tokenHash: t0.tokenHash,
    state: 'held',
    fundedFrom: 'escrow',
    firstReceivedAt: T0,
    merchantSeenAt: T0,
    payerSeenAt: null,
    holdUntil: T0 + 72 * H,
    settledAt: null,
    claimUntil: null,
    ...over,
  }
}

function purse(over: Partial<PurseRecord> = {}): PurseRecord {
  return {
    purseId: `${W}:0`,
    walletId: W,
    tenantId: 't1',
    currency: 'EUR',
    purseAmount: 2000,
    spent: 0,
    expiresAt: T0 + 72 * H,
    releasedAt: null,
    ...over,
  }
}

const transfers = (steps: Step[]) =>
  steps.flatMap((s) => (s.type === 'transfer' ? [`${s.from.kind}>${s.to.kind}:${s.amount}`] : []))
const kinds = (steps: Step[]) => steps.map((s) => s.type)

function arrive(
  side: Side,
  tokens: TokenFacts[],
  payments: PaymentRecord[] = [],
  purses = [purse()],
  now = T0,
) {
  return planArrivals({
    now,
    config: CFG,
    side,
    tokens,
    payments,
    purses,
    wallets: [{ walletId: W, tenantId: 't1', frozenAt: null }],
  })
}

t.test('arrivals: each side, first or second', async (t) => {
  const cases: {
    name: string
    side: Side
    stored: PaymentRecord[]
    state: string
    status: string
    moves: string[]
  }[] = [
    {
      name: 'merchant first → held',
      side: 'merchant',
      stored: [],
      state: 'held',
      status: 'stored',
      moves: ['purse_escrow>merchant_held:500'],
    },
    {
      name: 'payer first → confirmed',
      side: 'payer',
      stored: [],
      state: 'confirmed',
      status: 'stored',
      moves: ['purse_escrow>merchant_wallet:500'],
    },
    {
      name: 'payer after merchant → confirmed',
      side: 'payer',
      stored: [rec()],
      state: 'confirmed',
      status: 'stored',
      moves: ['merchant_held>merchant_wallet:500'],
    },
    {
      name: 'merchant after payer → stays confirmed',
      side: 'merchant',
      stored: [rec({ state: 'confirmed', merchantSeenAt: null, payerSeenAt: T0 })],
      state: 'confirmed',
      status: 'stored',
      moves: [],
    },
    {
      name: 'merchant re-delivery → duplicate',
      side: 'merchant',
      stored: [rec()],
      state: 'held',
      status: 'duplicate',
      moves: [],
    },
    {
      name: 'payer re-upload → duplicate',
      side: 'payer',
      stored: [rec({ state: 'confirmed', payerSeenAt: T0 })],
      state: 'confirmed',
      status: 'duplicate',
      moves: [],
    },
    {
      name: 'payer after approval → stays approved',
      side: 'payer',
      stored: [rec({ state: 'approved', holdUntil: null })],
      state: 'approved',
      status: 'stored',
      moves: [],
    },
    {
      name: 'payer during dispute → stays disputed',
      side: 'payer',
      stored: [rec({ state: 'disputed' })],
      state: 'disputed',
      status: 'stored',
      moves: [],
    },
  ]
  for (const c of cases) {
    const plan = arrive(c.side, [tok()], c.stored, [purse({ spent: c.stored.length ? 500 : 0 })], T0 + H)
    const o = plan.outcomes[0]!
    t.equal(o.status, c.status, `${c.name}: status`)
    t.equal('state' in o ? o.state : undefined, c.state, `${c.name}: state`)
    t.same(transfers(plan.steps), c.moves, `${c.name}: money`)
  }
})

t.test('merchant-first payment is held until 72 h after the bridge received it', async (t) => {
  const plan = arrive('merchant', [tok()], [], [purse()], T0)
  const ins = plan.steps.find((s) => s.type === 'insert_payment')
  t.equal(ins?.type === 'insert_payment' && ins.payment.holdUntil, T0 + 72 * H)
  t.ok(plan.steps.some((s) => s.type === 'purse_spent' && s.delta === 500))
})

t.test('auto-approval at the 72 h boundary, to the second', async (t) => {
  const held = rec({ firstReceivedAt: T0, holdUntil: T0 + 72 * H })
  const cases = [
    { at: T0 + 72 * H - 1000, approved: false },
    { at: T0 + 72 * H - 1, approved: false },
    { at: T0 + 72 * H, approved: true },
    { at: T0 + 72 * H + 1000, approved: true },
  ]
  for (const c of cases) {
    const steps = planApprovals([held], c.at, CFG)
    t.equal(steps.length > 0, c.approved, `at ${(c.at - T0) / 1000} s`)
    if (c.approved) {
      t.same(kinds(steps), ['transition', 'transfer', 'notify_payer'])
      t.same(transfers(steps), ['merchant_held>merchant_wallet:500'])
      const n = steps[2]
      t.equal(n?.type === 'notify_payer' && n.claimUntil, c.at + CFG.claimWindowSeconds * 1000)
    }
  }
  for (const state of ['confirmed', 'approved', 'disputed', 'double_spend'] as const) {
    t.same(planApprovals([rec({ state })], T0 + 100 * H, CFG), [], `${state} is never auto-approved`)
  }
})

t.test('a configurable hold', async (t) => {
  const plan = planArrivals({
    now: T0,
    config: { ...CFG, holdSeconds: 60 },
    side: 'merchant',
    tokens: [tok()],
    payments: [],
    purses: [purse()],
    wallets: [],
  })
  const ins = plan.steps.find((s) => s.type === 'insert_payment')
  t.equal(ins?.type === 'insert_payment' && ins.payment.holdUntil, T0 + 60_000)
  t.ok(
    plan.steps.some((s) => s.type === 'ensure_wallet'),
    'new wallet row',
  )
})

t.test('double spend: same counter, second token refused and kept, wallet frozen once', async (t) => {
  const honoured = rec({ txId: 'tx-a' })
  const plan = arrive(
    'merchant',
    [tok({ txId: 'tx-b' }), tok({ txId: 'tx-c' })],
    [honoured],
    [purse({ spent: 500 })],
  )
  t.same(
    plan.outcomes.map((o) => ('state' in o ? o.state : o.status)),
    ['refused', 'refused'],
  )
  t.same(
    plan.outcomes.map((o) => o.status === 'refused' && [o.code, o.proofOf]),
    [
      ['double_spend', 'tx-a'],
      ['double_spend', 'tx-a'],
    ],
  )
  t.same(transfers(plan.steps), [], 'no money moves for refused tokens at arrival')
  t.same(
    plan.steps.flatMap((s) => (s.type === 'refuse_token' ? [[s.refused.txId, s.refused.settleState]] : [])),
    [
      ['tx-b', 'pending'],
      ['tx-c', 'pending'],
    ],
    'kept as refused, owed to the merchant whose box delivered them',
  )
  const proofs = plan.steps.filter((s) => s.type === 'record_proof')
  t.equal(proofs.length, 2)
  t.ok(
    proofs.every((p) => p.type === 'record_proof' && p.honouredTxId === 'tx-a' && p.kind === 'same_counter'),
  )
  t.equal(plan.steps.filter((s) => s.type === 'freeze_wallet').length, 1, 'frozen once')
  t.equal(plan.steps.filter((s) => s.type === 'alert').length, 2, 'operator alerted')
})

t.test('double spend inside one batch: the first in batch order is honoured', async (t) => {
  const plan = arrive('merchant', [tok({ txId: 'tx-a' }), tok({ txId: 'tx-b' })])
  t.same(
    plan.outcomes.map((o) => ('state' in o ? o.state : o.status)),
    ['held', 'refused'],
  )
  t.same(transfers(plan.steps), ['purse_escrow>merchant_held:500'])
})

t.test(
  "a full batch of many wallets: each token meets only its own wallet's counters and links",
  async (t) => {
    // 100 wallets × 5 tokens (the protocol's largest batch), each wallet's counter 1 stored before with link L<w>.
    const wid = (w: number) => `w${String(w).padStart(3, '0')}`.padEnd(16, 'x')
    const tokens: TokenFacts[] = []
    const payments: PaymentRecord[] = []
    for (let w = 0; w < 100; w++) {
      const walletId = wid(w)
      const purseId = `${walletId}:0`
      payments.push(
        rec({
          txId: `old-${w}`,
          walletId,
          purseId,
          counter: 1,
          amount: 1,
          tokenHash: `h-old-${w}`,
          link: `L${w}-1`,
        }),
      )
      for (let c = 2; c <= 6; c++) {
        tokens.push(
          tok({
            txId: `tx-${w}-${c}`,
            walletId,
            purseId,
            counter: c,
            amount: 1,
            prevHash: `L${w}-${c - 1}`,
            link: `L${w}-${c}`,
          }),
        )
      }
    }
    // Wallet 57's counter 2 does not chain to its stored counter 1; wallet 58 sends a second token at counter 4.
    const broken = tokens.findIndex((x) => x.txId === 'tx-57-2')
    tokens[broken] = { ...tokens[broken]!, prevHash: 'not-L57-1' }
    tokens.push(
      tok({
        txId: 'tx-58-4b',
        walletId: wid(58),
        purseId: `${wid(58)}:0`,
        counter: 4,
        amount: 1,
        tokenHash: 'h-58-4b',
        prevHash: 'L58-3',
        link: 'L58-4b',
      }),
    )
    const plan = planArrivals({
      now: T0,
      config: CFG,
      side: 'merchant',
      tokens,
      payments,
      purses: Array.from({ length: 100 }, (_, w) =>
        purse({ purseId: `${wid(w)}:0`, walletId: wid(w), spent: 1 }),
      ),
      wallets: Array.from({ length: 100 }, (_, w) => ({ walletId: wid(w), tenantId: 't1', frozenAt: null })),
    })
    const refused = plan.outcomes.flatMap((o) =>
      o.status === 'refused' ? [[o.txId, o.code, o.proofOf]] : [],
    )
    t.same(refused, [
      ['tx-57-2', 'bad_chain', 'old-57'],
      ['tx-58-4b', 'double_spend', 'tx-58-4'],
    ])
    t.equal(plan.outcomes.filter((o) => o.status === 'stored').length, 499, 'every other token is held')
    t.equal(plan.steps.filter((s) => s.type === 'freeze_wallet').length, 2, 'the two wallets are frozen')
  },
)

t.test('spend beyond the purse: first received honoured until the purse is used up', async (t) => {
  const tokens = [
    tok({ txId: 'tx-1', counter: 1, amount: 1200 }),
    tok({ txId: 'tx-2', counter: 2, amount: 800 }),
    tok({ txId: 'tx-3', counter: 3, amount: 1 }),
  ]
  const plan = arrive('merchant', tokens)
  t.same(
    plan.outcomes.map((o) => ('state' in o ? o.state : o.status)),
    ['held', 'held', 'refused'],
  )
  t.same(transfers(plan.steps), ['purse_escrow>merchant_held:1200', 'purse_escrow>merchant_held:800'])
  const proof = plan.steps.find((s) => s.type === 'record_proof')
  t.equal(proof?.type === 'record_proof' && proof.kind, 'over_purse')
  t.ok(plan.steps.some((s) => s.type === 'freeze_wallet'))
})

t.test('ledger refs are unique per movement of a payment', async (t) => {
  const hold = arrive('merchant', [tok()]).steps
  const confirm = arrive('payer', [tok()], [rec()], [purse({ spent: 500 })]).steps
  const refs = [...hold, ...confirm].flatMap((s) => (s.type === 'transfer' ? [s.ref] : []))
  t.same(refs, ['offline:tx-1:hold', 'offline:tx-1:confirm'])
  const ins = arrive('payer', [tok()]).steps.find((s) => s.type === 'insert_payment')
  t.equal(
    ins?.type === 'insert_payment' && ins.payment.claimUntil,
    T0 + CFG.claimWindowSeconds * 1000,
    'claimable after',
  )
})

t.test('a frozen wallet: later tokens judged by the same rules, no second freeze', async (t) => {
  const plan = planArrivals({
    now: T0,
    config: CFG,
    side: 'merchant',
    tokens: [tok({ txId: 'tx-9', counter: 9 })],
    payments: [],
    purses: [purse()],
    wallets: [{ walletId: W, tenantId: 't1', frozenAt: T0 - H }],
  })
  t.same(plan.outcomes, [{ txId: 'tx-9', status: 'stored', state: 'held' }], 'escrow still guarantees it')
  t.notOk(plan.steps.some((s) => s.type === 'freeze_wallet'))
})

t.test('the payer side of a refused token is only marked seen', async (t) => {
  const plan = arrive('payer', [tok()], [rec({ state: 'double_spend', fundedFrom: 'none' })])
  t.same(plan.outcomes, [{ txId: 'tx-1', status: 'stored', state: 'double_spend' }])
  t.same(kinds(plan.steps), ['mark_seen'])
})

t.test('a second token of the wallet under a used tx id is a double spend with proof', async (t) => {
  const plan = arrive('merchant', [tok({ tokenHash: 'other', counter: 2 })], [rec({ state: 'confirmed' })])
  t.same(plan.outcomes[0], { txId: 'tx-1', status: 'refused', code: 'double_spend', proofOf: 'tx-1' })
  t.same(kinds(plan.steps), ['refuse_token', 'record_proof', 'freeze_wallet', 'alert'])
  const proof = plan.steps.find((s) => s.type === 'record_proof')
  t.equal(proof?.type === 'record_proof' && proof.kind, 'same_tx_id')
  t.same(transfers(plan.steps), [], 'the honoured payment is untouched')
})

t.test(
  'another wallet reusing a tx id: refused and kept, its wallet not frozen, operator told',
  async (t) => {
    const plan = arrive('merchant', [tok({ tokenHash: 'other', walletId: 'cccccccccccccccc' })], [rec()])
    t.same(plan.outcomes[0], { txId: 'tx-1', status: 'refused', code: 'replay', proofOf: 'tx-1' })
    t.notOk(plan.steps.some((s) => s.type === 'freeze_wallet'))
    t.ok(plan.steps.some((s) => s.type === 'alert' && s.kind === 'tx_id_taken'))
  },
)

t.test(
  'a late token after the leftover went back is paid from the wallet while it holds the money',
  async (t) => {
    const plan = planArrivals({
      now: T0,
      config: CFG,
      side: 'merchant',
      tokens: [tok({ txId: 'tx-1', counter: 1 }), tok({ txId: 'tx-2', counter: 2 })],
      payments: [],
      purses: [purse({ releasedAt: T0 })],
      wallets: [],
      walletAvailable: { [W]: 700 },
    })
    t.same(transfers(plan.steps), ['wallet_available>merchant_held:500'])
    t.same(
      plan.outcomes.map((o) => ('state' in o ? o.state : o.status)),
      ['held', 'unfunded'],
    )
    t.ok(plan.steps.some((s) => s.type === 'alert' && s.kind === 'unfunded'))
  },
)

t.test('claims', async (t) => {
  const now = T0 + 80 * H
  const approved = rec({
    state: 'approved',
    holdUntil: T0 + 72 * H,
    settledAt: T0 + 72 * H,
    claimUntil: T0 + 90 * H,
  })
  const cases: {
    name: string
    p: PaymentRecord
    wallet?: string
    at?: number
    code?: string
    moves?: string[]
  }[] = [
    { name: 'held → disputed, money stays held', p: rec(), moves: [] },
    {
      name: 'approved → disputed, money pulled back',
      p: approved,
      moves: ['merchant_wallet>merchant_held:500'],
    },
    { name: 'approved, window closed', p: approved, at: T0 + 90 * H + 1, code: 'claim_window_closed' },
    {
      name: 'approved, last millisecond of window',
      p: approved,
      at: T0 + 90 * H,
      moves: ['merchant_wallet>merchant_held:500'],
    },
    {
      name: 'confirmed by payer',
      p: rec({ state: 'confirmed', claimUntil: T0 + 90 * H }),
      moves: ['merchant_wallet>merchant_held:500'],
    },
    {
      name: 'confirmed, window closed',
      p: rec({ state: 'confirmed', claimUntil: T0 + 79 * H }),
      code: 'claim_window_closed',
    },
    { name: 'reversed', p: rec({ state: 'reversed' }), code: 'not_claimable' },
    { name: 'already disputed', p: rec({ state: 'disputed' }), code: 'already_disputed' },
    { name: 'double spend', p: rec({ state: 'double_spend' }), code: 'not_claimable' },
    { name: 'another wallet', p: rec(), wallet: 'ffffffffffffffff', code: 'wrong_wallet' },
  ]
  for (const c of cases) {
    const run = () => planClaim(c.p, c.wallet ?? W, 'not me', c.at ?? now)
    if (c.code) {
      t.throws(run, { code: c.code }, c.name)
    } else {
      const steps = run()
      t.same(transfers(steps), c.moves, c.name)
      const tr = steps[0]
      t.ok(
        tr?.type === 'transition' && tr.to === 'disputed' && tr.claimReason === 'not me',
        `${c.name}: disputed`,
      )
      t.ok(
        steps.some((s) => s.type === 'alert' && s.kind === 'claim'),
        `${c.name}: operator told`,
      )
    }
  }
})

t.test('operator resolution', async (t) => {
  const disputed = rec({ state: 'disputed' })
  t.same(transfers(planResolve(disputed, 'reverse', 'op', T0)), ['merchant_held>wallet_available:500'])
  t.same(transfers(planResolve(disputed, 'uphold', 'op', T0)), ['merchant_held>merchant_wallet:500'])
  const r = planResolve(disputed, 'reverse', 'op', T0)[0]
  t.ok(r?.type === 'transition' && r.to === 'reversed' && r.resolvedBy === 'op')
  t.throws(() => planResolve(rec(), 'reverse', 'op', T0), { code: 'not_disputed' })
})

t.test('purse leftover release', async (t) => {
  const exp = T0 + 72 * H
  const grace = CFG.purseGraceSeconds * 1000
  const p = purse({ spent: 700 })
  t.same(planPurseRelease(p, [], exp + grace - 1, CFG), [], 'not before expiry + grace')
  const steps = planPurseRelease(p, [], exp + grace, CFG)
  t.same(transfers(steps), ['purse_escrow>wallet_available:1300'])
  t.same(planPurseRelease(p, [rec({ state: 'held' })], exp + grace, CFG), [], 'a held payment keeps it open')
  t.same(
    transfers(planPurseRelease(p, [rec({ state: 'disputed' })], exp + grace, CFG)),
    ['purse_escrow>wallet_available:1300'],
    'a disputed payment does not: its money already left escrow, and a reversal never returns to it',
  )
  t.same(
    kinds(planPurseRelease(purse({ spent: 2000 }), [], exp + grace, CFG)),
    ['release_purse'],
    'nothing left',
  )
  t.same(planPurseRelease(purse({ releasedAt: exp }), [], exp + grace, CFG), [], 'released once')
})

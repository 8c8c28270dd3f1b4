/**
 * Where the money is: payments by state, holds on a timeline to their auto-approval, the claims queue with
 * the operator's decision, double-spend proofs, refused tokens and payouts. Merchants get the same page
 * limited to their own payments, without the operator's actions.
 */
import type { ConsoleAlert } from '../alerts.js'
import { money, relative, shortId, when } from '../format.js'
import type { ClaimRow, PaymentRow, PayoutRow, ProofRow, RefusedRow, StateTotal } from '../money-queries.js'
import type { ConsoleSession } from '../session.js'
import { ActionForm, Layout } from './layout.js'

export function TotalsTable(p: { totals: StateTotal[] }) {
  return (
    <table id="totals">
      <thead>
        <tr>
          <th>State</th>
          <th class="num">Payments</th>
          <th class="num">Value</th>
        </tr>
      </thead>
      <tbody>
        {p.totals.map((t) => (
          <tr data-state={t.state}>
            <td class="state">{t.state}</td>
            <td class="num">{t.count}</td>
            <td class="num">{money(t.amount, t.currency)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** Holds on a timeline: each bar fills as its 72 h hold runs out. */
export function HoldTimeline(p: { holds: PaymentRow[]; now: Date }) {
  if (p.holds.length === 0) return <p class="empty">No payment is held.</p>
  return (
    <ol id="holds" class="timeline">
      {p.holds.map((h) => {
        const start = h.firstReceivedAt.getTime()
        const end = h.holdUntil?.getTime() ?? start
        const done = Math.min(1, Math.max(0, (p.now.getTime() - start) / Math.max(1, end - start)))
        return (
          <li data-tx={h.txId}>
            <span class="amount">{money(h.amount, h.currency)}</span>
            <progress max="1000" value={String(Math.round(done * 1000))} />
            <span>
              auto-approves {relative(h.holdUntil, p.now)} ({when(h.holdUntil)}) · box {shortId(h.deviceId)}
            </span>
          </li>
        )
      })}
    </ol>
  )
}

export function ClaimTable(p: { claims: ClaimRow[]; csrf: string | null }) {
  if (p.claims.length === 0) return <p class="empty">No claims.</p>
  return (
    <table id="claims">
      <thead>
        <tr>
          <th>Claim</th>
          <th>Payment</th>
          <th class="num">Amount</th>
          <th>Reason</th>
          <th>Filed</th>
          <th>State</th>
          {p.csrf ? <th>Decision</th> : null}
        </tr>
      </thead>
      <tbody>
        {p.claims.map((c) => (
          <tr data-claim={c.id}>
            <td>{c.id}</td>
            <td title={c.txId}>{shortId(c.txId)}</td>
            <td class="num">{c.amount !== null && c.currency ? money(c.amount, c.currency) : '—'}</td>
            <td>{c.reason}</td>
            <td>{when(c.filedAt)}</td>
            <td class="state">{c.status}</td>
            {p.csrf ? (
              <td>
                {c.status === 'open' ? (
                  <ActionForm action={`/console/claims/${c.id}/resolve`} csrf={p.csrf}>
                    <button
                      type="submit"
                      name="decision"
                      value="reverse"
                      title="Return the money to the payer"
                    >
                      Reverse
                    </button>
                    <button
                      type="submit"
                      name="decision"
                      value="uphold"
                      title="The merchant keeps the payment"
                    >
                      Uphold
                    </button>
                  </ActionForm>
                ) : (
                  '—'
                )}
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export interface MoneyProps {
  session: ConsoleSession
  now: Date
  totals: StateTotal[]
  holds: PaymentRow[]
  claims: ClaimRow[]
  proofs: ProofRow[]
  refused: RefusedRow[]
  payouts: PayoutRow[]
  alerts: ConsoleAlert[]
  notice?: string | undefined
}

export function MoneyPage(p: MoneyProps) {
  return (
    <Layout title="Money" session={p.session} active="money" alerts={p.alerts}>
      {p.notice ? <p class="notice">{p.notice}</p> : null}
      <section>
        <h2>Offline payments by state</h2>
        <TotalsTable totals={p.totals} />
      </section>
      <section>
        <h2>Held, soonest auto-approval first</h2>
        <HoldTimeline holds={p.holds} now={p.now} />
      </section>
      <section>
        <h2>Claims</h2>
        <ClaimTable claims={p.claims} csrf={p.session.csrf} />
      </section>
      <section>
        <h2>Double spends (proof kept)</h2>
        {p.proofs.length === 0 ? (
          <p class="empty">None detected.</p>
        ) : (
          <table id="proofs">
            <thead>
              <tr>
                <th>Wallet</th>
                <th>Kind</th>
                <th>Honoured</th>
                <th>Refused</th>
                <th>Detected</th>
              </tr>
            </thead>
            <tbody>
              {p.proofs.map((x) => (
                <tr>
                  <td>{x.walletId}</td>
                  <td>{x.kind.replaceAll('_', ' ')}</td>
                  <td title={x.honouredTxId ?? ''}>{x.honouredTxId ? shortId(x.honouredTxId) : '—'}</td>
                  <td title={x.refusedTxId}>{shortId(x.refusedTxId)}</td>
                  <td>{when(x.detectedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section>
        <h2>Refused tokens</h2>
        {p.refused.length === 0 ? (
          <p class="empty">None.</p>
        ) : (
          <table id="refused">
            <thead>
              <tr>
                <th>From</th>
                <th>Payment</th>
                <th class="num">Amount</th>
                <th>Reason</th>
                <th>Merchant's receipt</th>
                <th>Received</th>
              </tr>
            </thead>
            <tbody>
              {p.refused.map((r) => (
                <tr class={r.settlement === 'unfunded' ? 'risk' : ''}>
                  <td>
                    {r.source === 'box' ? 'box' : 'wallet log'} {r.from}
                  </td>
                  <td title={r.txId ?? ''}>{r.txId ? shortId(r.txId) : '—'}</td>
                  <td class="num">{r.amount !== null && r.currency ? money(r.amount, r.currency) : '—'}</td>
                  <td class="state">{r.code.replaceAll('_', ' ')}</td>
                  <td>{r.settlement.replaceAll('_', ' ')}</td>
                  <td>{when(r.receivedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section>
        <h2>Payouts</h2>
        <PayoutTable payouts={p.payouts} />
      </section>
    </Layout>
  )
}

export function PayoutTable(p: { payouts: PayoutRow[] }) {
  if (p.payouts.length === 0) return <p class="empty">No payouts yet.</p>
  return (
    <table id="payouts">
      <thead>
        <tr>
          <th>Batch</th>
          <th>State</th>
          <th class="num">Merchants</th>
          <th class="num">Amount</th>
          <th>Built</th>
        </tr>
      </thead>
      <tbody>
        {p.payouts.map((x) => (
          <tr>
            <td>{x.id}</td>
            <td class="state">{x.status}</td>
            <td class="num">{x.merchants}</td>
            <td class="num">{money(x.amount, x.currency)}</td>
            <td>{when(x.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

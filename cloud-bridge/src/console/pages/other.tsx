/** The sign-in page, the SMS outbox (operators) and the merchant's own page. */
import type { ConsoleAlert } from '../alerts.js'
import type { BoxRow } from '../box-queries.js'
import { money, moneyByCurrency, relative, when } from '../format.js'
import type { ClaimRow, PaymentRow, PayoutRow, SmsRow, StateTotal } from '../money-queries.js'
import type { ConsoleSession } from '../session.js'
import { BoxTable, PaymentTable } from './fleet.js'
import { Figure, Layout } from './layout.js'
import { ClaimTable, PayoutTable, TotalsTable } from './money.js'

export function LoginPage(p: { error?: string | undefined }) {
  return (
    <Layout title="Sign in" session={null}>
      <form method="post" action="/console/login" class="login">
        <p>Sign in with an operator or merchant API key (opg_…). The key is checked once and never stored.</p>
        {p.error ? <p class="alert warning">{p.error}</p> : null}
        <label>
          API key <input type="password" name="key" autocomplete="off" required />
        </label>
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  )
}

export function SmsPage(p: {
  session: ConsoleSession
  rows: SmsRow[]
  byStatus: Record<string, number>
  alerts: ConsoleAlert[]
}) {
  return (
    <Layout title="SMS" session={p.session} active="sms" alerts={p.alerts}>
      <section class="figures">
        {['pending', 'sent', 'failed'].map((s) => (
          <Figure label={s} value={String(p.byStatus[s] ?? 0)} />
        ))}
      </section>
      <section>
        <h2>Messages</h2>
        {p.rows.length === 0 ? <p class="empty">No SMS queued yet.</p> : <SmsTable rows={p.rows} />}
      </section>
    </Layout>
  )
}

function SmsTable(p: { rows: SmsRow[] }) {
  return (
    <table id="sms">
      <thead>
        <tr>
          <th>To</th>
          <th>Text</th>
          <th>State</th>
          <th class="num">Attempts</th>
          <th>Queued</th>
          <th>Sent</th>
          <th>Last error</th>
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => (
          <tr class={r.status === 'failed' ? 'risk' : ''}>
            <td>{r.to}</td>
            <td class="sms-body">{r.body}</td>
            <td class="state">{r.status}</td>
            <td class="num">{r.attempts}</td>
            <td>{when(r.createdAt)}</td>
            <td>{when(r.sentAt)}</td>
            <td>{r.lastError ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export interface ShopProps {
  session: ConsoleSession
  now: Date
  boxes: BoxRow[]
  today: StateTotal[]
  balances: { kind: string; currency: string; balance: number }[]
  recent: PaymentRow[]
  payouts: PayoutRow[]
  claims: ClaimRow[]
}

const BALANCE_LABEL: Record<string, string> = {
  merchant_held: 'Held (waiting for the payer’s wallet or the 72 h hold)',
  merchant_wallet: 'Released to you, not yet paid out',
  merchant_bank_payable: 'Due to your bank in the next payout',
}

export function ShopPage(p: ShopProps) {
  const takings: Record<string, number> = {}
  for (const t of p.today)
    if (t.state !== 'reversed') takings[t.currency] = (takings[t.currency] ?? 0) + t.amount
  return (
    <Layout title="My shop" session={p.session} active="shop">
      <section class="figures">
        <Figure id="takings-today" label="Taken today (UTC)" value={moneyByCurrency(takings)} />
        {p.balances.map((b) => (
          <Figure label={BALANCE_LABEL[b.kind] ?? b.kind} value={money(b.balance, b.currency)} />
        ))}
      </section>
      <section>
        <h2>My boxes</h2>
        <BoxTable boxes={p.boxes} now={p.now} link={false} />
        <ul class="stickers">
          {p.boxes.map((b) => (
            <li>
              <a href={`/console/boxes/${b.id}/sticker.svg`}>Sticker for {b.label || b.id}</a> · last seen{' '}
              {relative(b.lastSeenAt, p.now)}
            </li>
          ))}
        </ul>
      </section>
      <section>
        <h2>Today by state</h2>
        <TotalsTable totals={p.today} />
      </section>
      <section>
        <h2>Recent payments</h2>
        <PaymentTable payments={p.recent} now={p.now} />
      </section>
      <section>
        <h2>Payouts</h2>
        <PayoutTable payouts={p.payouts} />
      </section>
      <section>
        <h2>Claims against my payments</h2>
        <ClaimTable claims={p.claims} csrf={null} />
      </section>
    </Layout>
  )
}

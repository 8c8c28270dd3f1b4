/** Operator pages about boxes: the fleet (riskiest first, unsynced exposure and its history) and one box. */
import type { ConsoleAlert } from '../alerts.js'
import { type BoxRow, type ExposurePoint, revocationsBehind } from '../box-queries.js'
import { money, moneyByCurrency, relative, shortId, when } from '../format.js'
import type { PaymentRow } from '../money-queries.js'
import type { ConsoleSession } from '../session.js'
import { Figure, Layout } from './layout.js'

export interface FleetProps {
  session: ConsoleSession
  now: Date
  boxes: BoxRow[]
  exposure: Record<string, number>
  history: ExposurePoint[]
  alerts: ConsoleAlert[]
}

export function BoxTable(p: { boxes: BoxRow[]; now: Date; link: boolean }) {
  return (
    <table id="boxes">
      <thead>
        <tr>
          <th>Box</th>
          <th>Merchant</th>
          <th>Link</th>
          <th>Last seen</th>
          <th class="num">Unsynced payments</th>
          <th class="num">Unsynced value</th>
          <th>Waiting for a link</th>
          <th>Version</th>
        </tr>
      </thead>
      <tbody>
        {p.boxes.map((b) => (
          <tr data-box={b.id} class={b.revoked ? 'revoked' : !b.online && b.pendingCount > 0 ? 'risk' : ''}>
            <td>{p.link ? <a href={`/console/boxes/${b.id}`}>{b.label || b.id}</a> : b.label || b.id}</td>
            <td>{b.merchantName}</td>
            <td class="state">{b.revoked ? 'revoked' : b.online ? 'online' : 'offline'}</td>
            <td title={when(b.lastSeenAt)}>{relative(b.lastSeenAt, p.now)}</td>
            <td class="num pending-count">{b.pendingCount}</td>
            <td class="num pending-value">{moneyByCurrency(b.pendingAmount)}</td>
            <td>
              {b.unsyncedForMs > 0
                ? relative(new Date(p.now.getTime() - b.unsyncedForMs), p.now).replace(' ago', '')
                : '—'}
            </td>
            <td>{b.version ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function FleetPage(p: FleetProps) {
  const live = p.boxes.filter((b) => !b.revoked)
  const series = p.history.map((h) => ({ t: Math.floor(h.at.getTime() / 1000), c: h.currency, v: h.amount }))
  return (
    <Layout title="Fleet" session={p.session} active="fleet" alerts={p.alerts}>
      <section class="figures">
        <Figure
          id="exposure-total"
          label="Unsynced exposure (accepted offline, not yet at the bridge)"
          value={moneyByCurrency(p.exposure)}
        />
        <Figure label="Boxes online" value={`${live.filter((b) => b.online).length} of ${live.length}`} />
        <Figure
          label="Boxes holding payments"
          value={String(live.filter((b) => b.pendingCount > 0).length)}
        />
        <Figure
          id="revocations-behind"
          label="Boxes behind on the revocation list"
          value={String(live.filter(revocationsBehind).length)}
        />
      </section>
      <section>
        <h2>Unsynced exposure over time</h2>
        <div id="exposure-chart" class="chart" />
        <script type="application/json" id="exposure-data">
          {JSON.stringify(series)}
        </script>
      </section>
      <section>
        <h2>Boxes, riskiest first</h2>
        <BoxTable boxes={p.boxes} now={p.now} link />
      </section>
    </Layout>
  )
}

export interface BoxProps {
  session: ConsoleSession
  now: Date
  box: BoxRow
  status: unknown
  payments: PaymentRow[]
  /** The tenant's currency: the exposure limits are typed in it. */
  currency: string
  /** What the last command did, or why it was refused. */
  notice?: string | undefined
  error?: string | undefined
}

export function BoxPage(p: BoxProps) {
  return (
    <Layout title={`Box ${p.box.label || p.box.id}`} session={p.session} active="fleet">
      <section class="figures">
        <Figure label="Merchant" value={p.box.merchantName} />
        <Figure label="Link" value={p.box.revoked ? 'revoked' : p.box.online ? 'online' : 'offline'} />
        <Figure label="Last seen" value={relative(p.box.lastSeenAt, p.now)} />
        <Figure label="Unsynced" value={`${p.box.pendingCount} · ${moneyByCurrency(p.box.pendingAmount)}`} />
      </section>
      <p>
        <a href={`/console/boxes/${p.box.id}/sticker.svg`}>Printable sticker</a>
      </p>
      {p.notice ? <p class="notice">{p.notice}</p> : null}
      {p.error ? <p class="alert warning">{p.error}</p> : null}
      {p.box.revoked ? null : <BoxCommandsPanel {...p} />}
      <section>
        <h2>Payments from this box</h2>
        <PaymentTable payments={p.payments} now={p.now} />
      </section>
      <section>
        <h2>Last status report</h2>
        <StatusReport status={p.status} box={p.box} />
      </section>
    </Layout>
  )
}

export function PaymentTable(p: { payments: PaymentRow[]; now: Date }) {
  return (
    <table class="payments">
      <thead>
        <tr>
          <th>Payment</th>
          <th>State</th>
          <th class="num">Amount</th>
          <th>Received</th>
          <th>Auto-approves</th>
        </tr>
      </thead>
      <tbody>
        {p.payments.map((x) => (
          <tr data-tx={x.txId}>
            <td title={x.txId}>{shortId(x.txId)}</td>
            <td class="state">{x.state}</td>
            <td class="num">{money(x.amount, x.currency)}</td>
            <td>{when(x.firstReceivedAt)}</td>
            <td>{x.state === 'held' ? relative(x.holdUntil, p.now) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** Sync now, a config override (applied at the box's next start), and revoke. */
function BoxCommandsPanel(p: BoxProps) {
  const base = `/console/boxes/${p.box.id}`
  return (
    <section id="commands">
      <h2>Commands</h2>
      <form method="post" action={`${base}/sync-now`} class="stacked">
        <input type="hidden" name="csrf" value={p.session.csrf} />
        <h3>Sync</h3>
        <p class="hint">
          The box publishes its pending payments and status at once (an offline box does it when it
          reconnects).
        </p>
        <button type="submit">Sync now</button>
      </form>
      <form method="post" action={`${base}/config`} class="stacked">
        <input type="hidden" name="csrf" value={p.session.csrf} />
        <h3>Config override</h3>
        <p class="hint">Empty fields are left as they are. The box applies the override at its next start.</p>
        <label>
          Most unsynced money in total ({p.currency})
          <input name="maxUnsyncedTotal" inputmode="decimal" placeholder="e.g. 500.00" />
        </label>
        <label>
          Most per payer per day ({p.currency})
          <input name="maxPerWalletPerDay" inputmode="decimal" placeholder="e.g. 100.00" />
        </label>
        <label>
          Log level
          <select name="logLevel">
            <option value="">(unchanged)</option>
            {['error', 'warn', 'info', 'debug'].map((l) => (
              <option value={l}>{l}</option>
            ))}
          </select>
        </label>
        <button type="submit">Send override</button>
      </form>
      <form method="post" action={`${base}/revoke`} class="stacked danger">
        <input type="hidden" name="csrf" value={p.session.csrf} />
        <h3>Revoke this box</h3>
        <p class="hint">
          Its payments are refused at ingest from now on and kept with their reason; its keys stop. This
          cannot be undone.
        </p>
        <label>
          Reason
          <input name="reason" required maxlength={500} />
        </label>
        <label>
          <input type="checkbox" name="confirm" value="yes" required /> I understand the box stops taking
          payments
        </label>
        <button type="submit" class="danger">
          Revoke
        </button>
      </form>
    </section>
  )
}

/** The version of the revocation list the box applies, against the tenant's current one. */
function revocationLine(b: BoxRow): string {
  const { applied, current } = b.revocations
  const label = applied === null ? 'none' : `version ${applied}`
  if (revocationsBehind(b)) return `${label}: behind the current version ${current}`
  return current > 0 ? `${label} (current)` : label
}

/** The box's last status as a person reads it; the raw report stays one click away. */
function StatusReport(p: { status: unknown; box: BoxRow }) {
  const raw = typeof p.status === 'string' ? safeJson(p.status) : p.status
  if (!raw || typeof raw !== 'object') return <p class="empty">No status received yet.</p>
  const s = raw as Record<string, unknown>
  const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined)
  const str = (k: string) => (typeof s[k] === 'string' ? (s[k] as string) : undefined)
  const deviceTime = num('deviceTime')
  const bytes = num('storageBytes')
  const signal = num('signal')
  const rows: [string, string][] = [
    ['Clock', str('clock') ?? '—'],
    ['Box time', deviceTime !== undefined ? when(new Date(deviceTime)) : '—'],
    ['Signal', signal !== undefined ? `${signal} dBm` : '—'],
    ['Free storage', bytes !== undefined ? `${(bytes / 1e9).toFixed(1)} GB` : '—'],
    ['Revocation list', revocationLine(p.box)],
    ['Unsynced', moneyByCurrency((s.pendingAmount as Record<string, number> | undefined) ?? {})],
    ['Software', str('version') ?? '—'],
  ]
  return (
    <>
      <dl class="status">
        {rows.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </>
        ))}
      </dl>
      <details>
        <summary>Raw report</summary>
        <pre>{JSON.stringify(raw, null, 2)}</pre>
      </details>
    </>
  )
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

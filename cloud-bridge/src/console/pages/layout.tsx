/** The frame of every console page: title, navigation for the session's role, sign-out, alerts. */
import type { Child } from 'hono/jsx'
import type { ConsoleAlert } from '../alerts.js'
import type { ConsoleSession } from '../session.js'

export interface LayoutProps {
  title: string
  session: ConsoleSession | null
  active?: string
  alerts?: ConsoleAlert[]
  children?: Child
}

const OPERATOR_NAV = [
  ['fleet', 'Fleet'],
  ['money', 'Money'],
  ['sms', 'SMS'],
] as const
const MERCHANT_NAV = [['shop', 'My shop']] as const

export function Layout(p: LayoutProps) {
  const nav = p.session?.role === 'operator' ? OPERATOR_NAV : p.session ? MERCHANT_NAV : []
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${p.title} · opg console`}</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        <link rel="stylesheet" href="/console/assets/uPlot.min.css" />
        <script src="/console/assets/uPlot.iife.min.js" defer />
        <script src="/console/assets/console.js" defer />
      </head>
      <body>
        <header>
          <strong class="brand">opg console</strong>
          <nav>
            {nav.map(([href, label]) => (
              <a href={`/console/${href}`} class={p.active === href ? 'active' : ''}>
                {label}
              </a>
            ))}
          </nav>
          {p.session ? (
            <form method="post" action="/console/logout" class="logout">
              <input type="hidden" name="csrf" value={p.session.csrf} />
              <span class="who">
                {p.session.role} · tenant {p.session.tenantId}
              </span>
              <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        <main data-refresh={p.session ? '15' : undefined}>
          <h1>{p.title}</h1>
          {p.alerts && p.alerts.length > 0 ? (
            <section class="alerts" aria-label="Alerts">
              {p.alerts.map((a) => (
                <p class={`alert ${a.severity}`} data-kind={a.kind}>
                  {a.message}
                </p>
              ))}
            </section>
          ) : null}
          {p.children}
        </main>
      </body>
    </html>
  )
}

/** A small figure with a label, for the tops of pages. */
export function Figure(p: { label: string; value: string; id?: string }) {
  return (
    <div class="figure" id={p.id}>
      <span class="label">{p.label}</span>
      <span class="value">{p.value}</span>
    </div>
  )
}

/** A POST form carrying the session's CSRF token. */
export function ActionForm(p: { action: string; csrf: string; children?: Child }) {
  return (
    <form method="post" action={p.action} class="inline">
      <input type="hidden" name="csrf" value={p.csrf} />
      {p.children}
    </form>
  )
}

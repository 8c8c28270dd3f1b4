// The bridge's web console in a real browser (Debian's Chromium driven by playwright-core) against a real
// running stack: sign-in, the fleet seeing the box go offline, held payments and a claim reversed by a click,
// CSRF refusal, tenant isolation and the merchant's shop. Every step is asserted through what the page shows;
// a full-page screenshot of each page lands in e2e/test-artifacts/console/ for people to look at.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTenant } from '@opg/cloud-bridge'
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core'
import t from 'tap'
import { Customer } from '../src/customer.js'
import { startTestStack } from '../src/test-stack.js'
import { waitUntil } from '../src/wait.js'

const CHROMIUM = '/usr/bin/chromium'
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts', 'console')

if (!existsSync(CHROMIUM)) {
  // CI installs the Debian chromium package; a developer machine without it skips with the reason.
  if (process.env.CI) t.fail(`${CHROMIUM} is missing (install the Debian chromium package)`)
  else t.plan(0, `no browser: ${CHROMIUM} is missing (apt-get install -y chromium)`)
} else {
  t.test('the web console in a real browser', { timeout: 300_000 }, async (t) => {
    t.setTimeout(300_000)
    await mkdir(SHOTS, { recursive: true })
    const { stack, info } = await startTestStack(t, 'console')
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    t.teardown(() => browser.close())

    // Every page of every context reports its console errors here; CSP violations fail the test.
    const cspErrors: string[] = []
    const open = async (): Promise<{ ctx: BrowserContext; page: Page }> => {
      const ctx = await browser.newContext({ baseURL: info.httpUrl, viewport: { width: 1280, height: 800 } })
      const page = await ctx.newPage()
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text())
      })
      page.setDefaultTimeout(30_000)
      return { ctx, page }
    }
    const shot = (page: Page, name: string) =>
      page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
    // textContent, not innerText: the stylesheet capitalises some cells, the markup says what the data is.
    const txt = async (l: Locator) => ((await l.textContent()) ?? '').trim()
    const text = (page: Page, selector: string) => txt(page.locator(selector))
    const signIn = async (page: Page, key: string) => {
      await page.goto('/console/login')
      await page.fill('input[name=key]', key)
      await Promise.all([page.waitForLoadState('load'), page.click('form.login button[type=submit]')])
    }
    const boxRow = (page: Page) => page.locator(`#boxes tr[data-box="${info.box.deviceId}"]`)
    // Reload the fleet (as its own 15 s refresh would) until the box's Link column says `state`.
    const linkState = async (page: Page, state: string, timeoutMs: number) => {
      let seen = ''
      await waitUntil(
        `the fleet to show the box ${state}`,
        async () => {
          await page.reload()
          seen = (await boxRow(page).count()) ? await txt(boxRow(page)) : await txt(page.locator('main'))
          return (await txt(boxRow(page).locator('td.state')).catch(() => '')) === state
        },
        { timeoutMs, intervalMs: 1000 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}; the page showed: ${seen}`)
      })
    }

    // 1. Sign-in: the form, a wrong key refused, the operator key lands on the fleet with the box online.
    const { ctx, page } = await open()
    t.teardown(() => ctx.close())
    await page.goto('/console/fleet')
    t.match(new URL(page.url()).pathname, '/console/login', 'no session: the console sends us to sign in')
    t.equal(await page.locator('input[name=key]').count(), 1, 'the login page shows the key field')
    await shot(page, '01-login')
    await signIn(page, 'opg_not_a_real_key')
    t.match(await text(page, 'form.login .alert'), /not valid/, 'a wrong key is refused on the page')
    t.equal(new URL(page.url()).pathname, '/console/login', 'and no session is opened')
    await signIn(page, info.operatorKey)
    t.equal(new URL(page.url()).pathname, '/console/fleet', 'the operator key lands on the fleet')
    await linkState(page, 'online', 30_000)
    t.pass('the fleet lists the box as online')
    await shot(page, '02-fleet-online')

    // 2. The box leaves coverage: the broker publishes its last will and the fleet shows it offline.
    stack.link.down()
    await linkState(page, 'offline', 60_000)
    t.pass('after a reload the fleet shows the box offline')

    // 3. Two payments while offline, then coverage back and a sync: the Money page shows the holds.
    const ann = await Customer.register(info.httpUrl, info.operatorKey, 'Ann', '+15550004101')
    await ann.topUpByCard(5000, 'EUR')
    await ann.loadPurse(3000, 1000)
    const txIds: string[] = []
    for (const amount of [250, 175]) {
      const p = await ann.wallet.pay({ to: info.box.sticker, amount })
      t.ok((await stack.box.node.accept({ qrText: p.qrText })).ok, `the offline box accepts ${amount}`)
      txIds.push(p.txId)
    }
    await page.reload()
    t.equal(
      (await text(page, `tr[data-box="${info.box.deviceId}"] td.pending-count`)).trim(),
      '0',
      'the bridge has not heard of the payments yet',
    )
    await shot(page, '03-fleet-offline')
    stack.link.up()
    await waitUntil(
      'the box to sync both payments',
      async () => (await stack.box.node.syncNow(15_000).catch(() => null))?.pendingCount === 0,
      { timeoutMs: 60_000, intervalMs: 1000 },
    )
    await page.click('nav a[href="/console/money"]')
    await page.waitForLoadState('load')
    t.equal(new URL(page.url()).pathname, '/console/money', 'the nav leads to the Money page')
    for (const [i, amount] of ['2.50 EUR', '1.75 EUR'].entries()) {
      const hold = page.locator(`#holds li[data-tx="${txIds[i]}"]`)
      t.equal(await txt(hold.locator('.amount')), amount, `the hold of ${amount} is shown as money`)
      t.match(
        await txt(hold),
        /auto-approves in \d+ d \d+ h \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)/,
        'with its time',
      )
    }
    await shot(page, '04-money-holds')

    // 4. Ann disputes the 2.50 EUR payment; the operator reverses the claim with one click.
    const claim = await ann.api.post(`/v1/wallets/${ann.walletId}/claims`, {
      txId: txIds[0],
      reason: 'I did not make this payment',
    })
    t.equal(claim.status, 'open', 'the claim is filed through the API')
    await page.reload()
    const row = page.locator(`#claims tr[data-claim="${claim.id}"]`)
    t.equal(await txt(row.locator('td.state')), 'open', 'the Money page lists the open claim')
    t.match(await text(page, '.alerts'), /claim/, 'and the open claim raises an alert')
    t.equal(await row.locator('button[value=reverse]').count(), 1, 'with a Reverse button')
    t.equal(await row.locator('button[value=uphold]').count(), 1, 'and an Uphold button')
    t.equal(await txt(row.locator('td.num')), '2.50 EUR', 'and its amount as money')
    await Promise.all([page.waitForURL(/resolved=/), row.locator('button[value=reverse]').click()])
    t.match(
      await text(page, 'p.notice'),
      `Claim ${claim.id} resolved.`,
      'the page says the claim is resolved',
    )
    t.equal(await txt(row.locator('td.state')), 'reversed', 'and shows it reversed')
    t.equal(await row.locator('button').count(), 0, 'with no decision left to take')
    t.equal(
      await page.locator('.alerts', { hasText: /claim/ }).count(),
      0,
      'the decision clears the claim alert',
    )
    await shot(page, '05-money-resolved')
    const claims = await stack.operator.get('/v1/claims')
    const viaApi = (claims.claims as { id: string; status: string }[]).find((c) => c.id === claim.id)
    t.equal(viaApi?.status, 'reversed', 'the API agrees: the claim is reversed')

    // 5. CSRF: the same POST from the page's own origin, with the session cookie but no form token, is refused.
    const csrfStatus = await page.evaluate(async (id) => {
      const r = await fetch(`/console/claims/${id}/resolve`, {
        method: 'POST',
        body: new URLSearchParams({ decision: 'uphold' }),
      })
      return r.status
    }, claim.id)
    t.equal(csrfStatus, 403, 'a form POST without the CSRF token is refused')
    const forged = await page.request.post(`/console/claims/${claim.id}/resolve`, {
      form: { decision: 'uphold', csrf: 'forged' },
    })
    t.equal(forged.status(), 403, 'and so is one with a wrong token')

    await page.click('nav a[href="/console/sms"]')
    await page.waitForLoadState('load')
    t.equal(new URL(page.url()).pathname, '/console/sms', 'the SMS page opens')
    const smsRows = await page.locator('#sms tbody tr').count()
    const smsEmpty = await page.getByText('No SMS queued yet.').count()
    t.ok(smsRows > 0 !== smsEmpty > 0, 'it lists the messages or says there are none, never an empty table')
    await shot(page, '06-sms')
    await page.goto(`/console/boxes/${info.box.deviceId}`)
    t.match(await txt(page.locator('h1')), /Box/, 'the box page opens')
    t.match(await txt(page.locator('table.payments')), /1\.75 EUR/, 'and lists its payments as money')
    await shot(page, '07-box-detail')
    // The box's commands: sync now, then an override typed as money; each reaches the running box.
    await page.getByRole('button', { name: 'Sync now' }).click()
    await page.waitForURL(/done=sync_now/)
    t.match(await txt(page.locator('p.notice')), /Sync requested: the box is online/, 'sync now sent')
    await page.getByLabel('Most unsynced money in total (EUR)').fill('400.00')
    await page.getByRole('button', { name: 'Send override' }).click()
    await page.waitForURL(/done=config/)
    await waitUntil(
      'the override at the box',
      () =>
        (stack.box.node.report().configOverride?.exposure as { maxUnsyncedTotal?: number } | undefined)
          ?.maxUnsyncedTotal === 40_000,
      { timeoutMs: 15_000 },
    )
    t.pass('the override reached the box as 40000 minor units')
    await shot(page, '07b-box-commands')

    // 6. Another tenant's operator, in a fresh browser context, sees none of the first tenant's boxes.
    const other = await createTenant(stack.bridge.db, 'Elsewhere', 'EUR')
    const b = await open()
    t.teardown(() => b.ctx.close())
    await signIn(b.page, other.operatorKey.key)
    t.equal(new URL(b.page.url()).pathname, '/console/fleet', 'the other operator lands on its fleet')
    t.equal(await boxRow(b.page).count(), 0, "its fleet does not list the first tenant's box")
    const foreign = await b.page.goto(`/console/boxes/${info.box.deviceId}`)
    t.equal(foreign?.status(), 404, "the first tenant's box page is a 404 for it")
    t.match(await txt(b.page.locator('main')), /no such page/i, 'shown as a not-found page')

    // 7. The merchant: its shop with its box and today's takings; the operator pages are not for it.
    const m = await open()
    t.teardown(() => m.ctx.close())
    await signIn(m.page, info.box.merchantKey)
    t.equal(new URL(m.page.url()).pathname, '/console/shop', 'the merchant key lands on the shop')
    t.equal(await boxRow(m.page).count(), 1, 'the shop lists its box')
    t.match(
      await text(m.page, '#takings-today .value'),
      /^\d+\.\d\d EUR$/,
      "today's takings are shown as money",
    )
    await shot(m.page, '08-shop')
    const fleet = await m.page.goto('/console/fleet')
    t.equal(fleet?.status(), 404, 'the fleet page is a 404 for a merchant')

    t.same(cspErrors, [], 'no Content-Security-Policy violation in the browser console')
  })
}

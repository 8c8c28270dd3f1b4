// Payer-facing times and amounts in SMS: the payer's zone (tenant setting, else the phone's country), with the
// hour and the zone named, and amounts through the money module. Pure functions of fixed instants.
import t from 'tap'
import { approvalSmsText } from '../../src/reconcile/adapters.js'
import type { ApprovalNotice } from '../../src/reconcile/ports.js'
import { formatPayerTime, payerTimeZone, phoneTimeZone } from '../../src/sms/payer-time.js'

const AT = Date.UTC(2026, 11, 18, 23, 30) // 18 Dec 23:30 UTC: already 19 Dec in Berlin and Tokyo

t.test('the zone comes from the tenant, else a single-zone phone country, else UTC', async (t) => {
  t.equal(phoneTimeZone('+4915112345678', AT), 'Europe/Berlin')
  t.equal(phoneTimeZone('+81312345678', AT), 'Asia/Tokyo')
  t.equal(phoneTimeZone('+12025550123', AT), null, 'the US has several offsets')
  t.equal(phoneTimeZone('not a number', AT), null)
  t.equal(
    payerTimeZone('America/Chicago', '+4915112345678', AT),
    'America/Chicago',
    'the tenant setting wins',
  )
  t.equal(payerTimeZone(null, '+4915112345678', AT), 'Europe/Berlin')
  t.equal(payerTimeZone('Not/AZone', '+4915112345678', AT), 'Europe/Berlin', 'a bad setting falls through')
  t.equal(payerTimeZone(null, null, AT), 'UTC')
})

t.test('a deadline is a local date and time with its zone, not a UTC date', async (t) => {
  t.equal(formatPayerTime(AT, 'Europe/Berlin'), '19 Dec 2026, 00:30 CET')
  t.equal(formatPayerTime(AT, 'UTC'), '18 Dec 2026, 23:30 UTC')
  t.match(formatPayerTime(AT, 'Asia/Kolkata'), /^19 Dec 2026, 05:00 (GMT\+5:30|IST)$/)
})

t.test('the approval SMS uses the money module and the payer zone', async (t) => {
  const n: ApprovalNotice = {
    tenantId: '0000000000000001',
    walletId: '0000000000000002',
    txId: '01890a5d-ac96-774b-bcce-b302099a8057',
    merchantId: '0000000000000003',
    amount: 500,
    currency: 'JPY',
    claimUntil: AT,
  }
  const text = approvalSmsText(n, 'Ramen Ya', phoneTimeZone('+81312345678', AT) ?? 'UTC')
  // ICU names Tokyo's zone "GMT+9" in en-GB today; "JST" would be as clear.
  t.match(
    text,
    /^opg: 500 JPY paid offline to Ramen Ya is approved\. Not you\? Claim by 19 Dec 2026, 08:30 (GMT\+9|JST) in your wallet app: Payments > ref b302099a8057\.$/,
  )
  t.match(
    approvalSmsText({ ...n, amount: 1250, currency: 'EUR' }, null, 'UTC'),
    /^opg: 12\.50 EUR paid offline to merchant 0000000000000003 /,
  )
})

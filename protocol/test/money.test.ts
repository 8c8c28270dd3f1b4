import fc from 'fast-check'
import t from 'tap'
import { formatMoney, MoneyError, minorDigits, parseMoney, toDecimalString } from '../src/money.js'

t.test('minor-unit digits come from Intl', async (t) => {
  t.equal(minorDigits('EUR'), 2)
  t.equal(minorDigits('JPY'), 0)
  t.equal(minorDigits('KWD'), 3)
  t.throws(() => minorDigits('EURO'), { code: 'bad_currency' })
  t.throws(() => minorDigits('QQQ'), { code: 'bad_currency' })
})

t.test('formatMoney reads as money', async (t) => {
  t.equal(formatMoney(250, 'EUR'), '2.50 EUR')
  t.equal(formatMoney(5, 'EUR'), '0.05 EUR')
  t.equal(formatMoney(0, 'EUR'), '0.00 EUR')
  t.equal(formatMoney(-5, 'EUR'), '-0.05 EUR')
  t.equal(formatMoney(123_456_789, 'EUR'), '1,234,567.89 EUR')
  t.equal(formatMoney(500, 'JPY'), '500 JPY')
  t.equal(formatMoney(1_234, 'KWD'), '1.234 KWD')
  t.equal(
    formatMoney(2n ** 70n, 'EUR'),
    '11,805,916,207,174,113,034.24 EUR',
    'bigints beyond 2^53 stay exact',
  )
  t.equal(formatMoney(1250, 'EUR', { display: 'symbol' }), '€12.50')
  t.match(formatMoney(123_450, 'EUR', { locale: 'de', display: 'symbol' }), /^1\.234,50\s€$/)
  t.throws(() => formatMoney(1.5, 'EUR'), { code: 'bad_amount' })
})

t.test('parseMoney takes what a person types', async (t) => {
  t.equal(parseMoney('12.50', 'EUR'), 1250)
  t.equal(parseMoney('12.5', 'EUR'), 1250)
  t.equal(parseMoney(' 12 ', 'EUR'), 1200)
  t.equal(parseMoney('0.01', 'EUR'), 1)
  t.equal(parseMoney('500', 'JPY'), 500)
  t.equal(parseMoney('0', 'EUR', { allowZero: true }), 0)
})

t.test('parseMoney refuses with a hint', async (t) => {
  const refused = (text: string, currency: string, hint: RegExp) => {
    const err = t.throws(() => parseMoney(text, currency)) as MoneyError
    t.equal(err.code, 'bad_amount', `${text} ${currency}: bad_amount`)
    t.match(err.message, hint, `${text} ${currency}: ${err.message}`)
  }
  refused('12,50', 'EUR', /use a dot as the decimal sign: 12\.50/)
  refused('12.505', 'EUR', /EUR has 2 decimal places/)
  refused('500.5', 'JPY', /JPY has no decimal places/)
  refused('-5', 'EUR', /negative/)
  refused('0', 'EUR', /greater than zero/)
  refused('1e3', 'EUR', /write it like 12\.50 EUR/)
  refused('1,000.00', 'EUR', /not an amount/)
  refused('', 'EUR', /not an amount/)
  refused('99999999999999999', 'EUR', /too large/)
  t.throws(() => parseMoney('1', 'XYZ'), { code: 'bad_currency' })
})

t.test('parse ∘ format is the identity on minor units', async (t) => {
  for (const currency of ['EUR', 'JPY', 'KWD', 'USD']) {
    t.doesNotThrow(
      () =>
        fc.assert(
          fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (minor) => {
            const text = toDecimalString(minor, currency)
            return (
              parseMoney(text, currency) === minor && formatMoney(minor, currency).endsWith(` ${currency}`)
            )
          }),
        ),
      currency,
    )
  }
})

t.test('any string parses to a safe positive integer or a MoneyError', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          const v = parseMoney(s, 'EUR')
          return Number.isSafeInteger(v) && v > 0
        } catch (err) {
          return err instanceof MoneyError
        }
      }),
    ),
  )
})

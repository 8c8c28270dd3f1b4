// The bare-amount check itself: it must catch "250 EUR" and let real money through.
import t from 'tap'
import { bareMinorAmounts, linesWithBareAmounts } from '../src/money-lines.js'

t.test('finds minor units dressed as money', async (t) => {
  t.same(bareMinorAmounts('pay 250 EUR to Corner Cafe'), ['250 EUR'])
  t.same(bareMinorAmounts('purse left 1,750 EUR; limit 5000EUR'), ['1,750 EUR', '5000EUR'])
  t.same(
    bareMinorAmounts('payout 3.00 EUR, 1,234.56 EUR, 500 JPY'),
    [],
    'money and zero-decimal currencies pass',
  )
  t.same(bareMinorAmounts('box 0193abcd ACK 2 PIN'), [], 'words that are not currency codes pass')
  t.same(bareMinorAmounts('v1.250 EUR'), [], 'a number glued to a version is not an amount')
  t.same(linesWithBareAmounts(['ok 2.50 EUR', 'bad 250 INR\nfine']), [
    { line: 'bad 250 INR', amounts: ['250 INR'] },
  ])
})

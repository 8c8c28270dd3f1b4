/** Online payments: invoices, card/debit/wallet payment, top-ups, QR transfers, payouts, box notices. */
export * from './errors.js'
export * from './limits.js'
export * from './notices.js'
export * from './payouts.js'
export * from './provider.js'
export * from './sandbox-provider.js'
export * from './service.js'

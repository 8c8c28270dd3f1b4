/**
 * @opg/wallet-sdk — the portable wallet core: keys, offline purse, payment tokens, QR text, receipts, BLE
 * session, and a typed bridge client. No node: imports (a test walks this import graph), so it runs in
 * React Native and browser-like runtimes. Node adapters (encrypted file storage, QR images) are in
 * '@opg/wallet-sdk/node'.
 */
export * from './core/index.js'

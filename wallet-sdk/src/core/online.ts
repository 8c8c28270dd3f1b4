/**
 * The online steps of a wallet, each one call: register, load a purse, sync the signed log, history, claims.
 * They tie a Wallet to a BridgeClient; everything offline-capable stays in Wallet itself.
 */
import { fromHex } from '@opg/protocol'
import type { BridgeClient, ClaimInfo, LogItemResult, PaymentInfo } from './bridge-client.js'
import { WalletError } from './errors.js'
import type { PurseStatus, Wallet } from './wallet.js'

/**
 * Register the wallet's key with the bridge. `operator` must carry an operator key — in an app this call
 * runs on the app's backend, which then hands the wallet its own API key. Saves the wallet id, API key and
 * the issuer keyring in the wallet; returns a client that uses the wallet's key.
 */
export async function registerWallet(
  wallet: Wallet,
  operator: BridgeClient,
  r: { phone: string; currency?: string },
): Promise<BridgeClient> {
  const reg = await operator.registerWallet({ publicKey: wallet.publicKey, ...r })
  const client = operator.withKey(reg.apiKey)
  const tenant = await client.tenant()
  await wallet.setRegistration({
    walletId: reg.wallet.id,
    tenantId: tenant.id,
    apiKey: reg.apiKey,
    issuerKeys: await client.issuerKeys(),
  })
  return client
}

/** The client for this wallet's own key (saved at registration), or the given key. */
export function walletClient(wallet: Wallet, bridge: BridgeClient, apiKey = wallet.apiKey): BridgeClient {
  if (!apiKey) throw new WalletError('no_wallet', 'this wallet has no bridge API key: register it first')
  return bridge.withKey(apiKey)
}

function requireId(wallet: Wallet): string {
  if (!wallet.walletId) throw new WalletError('no_wallet', 'this wallet is not registered with a bridge')
  return wallet.walletId
}

/** Result of `sync`. */
export interface SyncResult {
  uploaded: number
  results: LogItemResult[]
}

/**
 * Upload every token the bridge has not acknowledged ("the payer synced"): held payments to merchants are
 * then confirmed at once. Also refreshes the issuer keyring (key rotation).
 */
export async function sync(wallet: Wallet, client: BridgeClient): Promise<SyncResult> {
  const walletId = requireId(wallet)
  await wallet.setRegistration({ walletId, issuerKeys: await client.issuerKeys() })
  const pending = wallet.unsynced()
  if (pending.length === 0) return { uploaded: 0, results: [] }
  const results = await client.uploadLog(
    walletId,
    pending.map((e) => fromHex(e.token)),
  )
  // A rejected token will be rejected again: record the outcome instead of retrying forever.
  await wallet.markSynced(
    results.map((r) => ({
      txId: pending[r.index]!.txId,
      outcome: r.outcome === 'rejected' ? `rejected:${r.code ?? 'unknown'}` : r.outcome,
    })),
  )
  return { uploaded: pending.length, results }
}

/**
 * Load an offline purse: sync first (the previous purse's tokens reach the bridge), then the bridge escrows
 * `amount` from the balance and issues the certificate, which the wallet verifies and installs. Refuses
 * (WalletError 'purse_active') while the current purse is live and not empty, unless `replace` is set: its
 * leftover then returns to the balance only when it expires.
 */
export async function loadPurse(
  wallet: Wallet,
  client: BridgeClient,
  r: { amount: number; perPaymentLimit?: number; ttlSeconds?: number; replace?: boolean },
): Promise<PurseStatus> {
  const current = wallet.purse()
  if (current && !current.expired && current.remaining > 0 && !r.replace) {
    // The wallet holds one purse at a time: a new one would leave this one's money in escrow until it expires.
    throw new WalletError(
      'purse_active',
      `the current purse still holds ${current.remaining}; pass replace to swap it`,
    )
  }
  await sync(wallet, client)
  const { replace: _replace, ...request } = r
  const purse = await client.loadPurse(requireId(wallet), request)
  return wallet.installPurse(purse.certificate)
}

/** The wallet's offline payments as the bridge sees them (held / confirmed / auto_approved / claimed …). */
export async function history(wallet: Wallet, client: BridgeClient, limit?: number): Promise<PaymentInfo[]> {
  return client.history(requireId(wallet), limit ? { limit } : {})
}

/** Dispute a payment. Syncs first so the bridge knows the payer's side of it. */
export async function claim(
  wallet: Wallet,
  client: BridgeClient,
  txId: string,
  reason: string,
): Promise<ClaimInfo> {
  await sync(wallet, client)
  return client.fileClaim(requireId(wallet), { txId, reason })
}

/**
 * The API with online payments (sandbox provider, webhooks delivered in process) on a real database, for the
 * security tests: world setup and a top-up helper.
 */
import { randomBytes } from 'node:crypto'
import { nodeBackend as c } from '@opg/protocol/node'
import type { Test } from 'tap'
import type { RateLimitOptions } from '../../src/auth/rate-limit.js'
import type { Db } from '../../src/db/types.js'
import { MasterKey } from '../../src/issuer/master-key.js'
import { OnlinePayments, SandboxProvider } from '../../src/online/index.js'
import { makeApi, type TestApi } from '../api/support.js'

const WEBHOOK_SECRET = 'whsec_security_test'

/** makeApi plus online payments through the sandbox provider. */
export function makeOnlineApi(t: Test, db: Db, opts: { rateLimits?: RateLimitOptions } = {}): TestApi {
  let svc: OnlinePayments | undefined
  const provider = new SandboxProvider({
    webhookSecret: WEBHOOK_SECRET,
    deliver: async (body, sig) => svc!.handleWebhook(body, sig),
    onError: (err) => t.error(err, 'webhook delivery'),
  })
  t.teardown(() => provider.stop())
  const sealer = new MasterKey(c, randomBytes(16))
  svc = new OnlinePayments({
    db,
    provider,
    c,
    sealer,
    link: null,
    webhookSecret: WEBHOOK_SECRET,
    now: () => new Date(),
  })
  return makeApi(db, { ...opts, online: svc, sealer })
}

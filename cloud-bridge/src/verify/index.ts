/** Payment token verification at the bridge: the pure check and the worker pool that runs it on every core. */
export { CertCache, type CertFilter } from './cert-cache.js'
export {
  InlineVerifier,
  type TokenVerifier,
  VerifyPool,
  VerifyPoolError,
  type VerifyPoolOptions,
} from './pool.js'
export {
  purseIdOf,
  tokenDigest,
  type VerifiedFacts,
  type VerifyContext,
  type VerifyResult,
  verifyTokenBytes,
} from './verify-token.js'

/**
 * Issuer keys per tenant (init, rotate, retire, keyring, active signing key) and the master key that seals
 * secrets at rest. See README.md §Storage (issuer keys).
 */

export { IssuerError, type IssuerErrorCode, isIssuerError } from './errors.js'
export {
  type ActiveIssuer,
  activeIssuer,
  type IssuerDeps,
  type IssuerKey,
  initIssuer,
  issuerKeyring,
  listIssuerKeys,
  retireIssuerKey,
  rotateIssuer,
  signNodeCertificate,
  signWalletCertificate,
} from './keys.js'
export { MasterKey, type SecretSealer } from './master-key.js'

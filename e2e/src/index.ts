/**
 * @opg/e2e — the whole system in one process, for `npm start`, `npm run demo` and the system tests: the
 * local stack (bridge + a provisioned box with simulated hardware), its parts, and the demo scenario.
 */
export { Api, ApiError } from './api.js'
export { type BleCustomer, BleRig } from './ble-rig.js'
export { type BoxSignal, LocalBox, type LocalBoxOptions } from './box.js'
export { Customer } from './customer.js'
export { type DemoOptions, type DemoResult, runDemo } from './demo.js'
export { runLocal } from './local.js'
export { type Check, money, Narrator } from './narrator.js'
export { NetLink, type NetLinkOptions } from './net-link.js'
export { type DoubleSpendProof, readDoubleSpendProof } from './proof.js'
export { type ProvisionedBox, type ProvisionOptions, provisionBox } from './provision.js'
export { runScenario, type ScenarioOptions } from './scenario.js'
export { SmsNetwork } from './sms-network.js'
export { LOCAL_DEFAULTS, LocalStack, type LocalStackOptions, type StackInfo } from './stack.js'

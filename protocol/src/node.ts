/** Node-only entry: the node:crypto backend (fast path for the box and the bridge). */
export { createNodeBackend, nodeBackend } from './crypto/node.js'

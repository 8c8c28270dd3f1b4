// The wallet core with the node:crypto backend.
import { nodeBackend } from '@opg/protocol/node'
import t from 'tap'
import { coreSuite } from './support/core-suite.js'
import { vectorSuite } from './support/vector-suite.js'

coreSuite(t, nodeBackend)
vectorSuite(t, nodeBackend)

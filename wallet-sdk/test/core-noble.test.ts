// The wallet core with the portable @noble backend (what React Native and browser-like runtimes use).
import { nobleBackend } from '@opg/protocol'
import t from 'tap'
import { coreSuite } from './support/core-suite.js'
import { vectorSuite } from './support/vector-suite.js'

coreSuite(t, nobleBackend)
vectorSuite(t, nobleBackend)

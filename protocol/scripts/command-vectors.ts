/**
 * Test vectors for sealed bridge → box commands and the sequence rule (SPEC.md §8.1), kept apart from
 * opg-v1.json so each can be regenerated alone. `npm run vectors -w protocol` writes
 * test-vectors/opg-v1-commands.json; the tests rebuild it byte for byte with both crypto backends.
 */
import {
  type CommandMarks,
  CommandSchema,
  type CryptoBackend,
  checkCommandSeq,
  deriveKey,
  fromHex,
  sealMqtt,
  toHex,
  topic,
} from '../src/index.js'
import { FIXED } from './vectors.js'

export function buildCommandVectors(c: CryptoBackend) {
  const mqttKey = deriveKey(c, fromHex(FIXED.deviceSecret), 'mqtt', fromHex(FIXED.deviceId))
  const cmdTopic = topic(FIXED.tenantId, FIXED.deviceId, 'down/cmd')
  // One nonce per message: a nonce is never reused under one key, even in a vector.
  const nonces = { time: '0c0d0e0f1011121314151617', revocations: '0d0e0f101112131415161718' }
  const time = {
    v: 1 as const,
    id: '01890a5d-ac96-774b-bcce-b302099a8059',
    seq: 41,
    type: 'time' as const,
    now: 1_767_229_200_000,
  }
  const revocations = {
    v: 1 as const,
    id: '01890a5d-ac96-774b-bcce-b302099a805a',
    seq: 42,
    type: 'revocations' as const,
    version: 3,
    wallets: [FIXED.walletId],
  }
  const seal = (cmd: typeof time | typeof revocations) =>
    toHex(sealMqtt(c, mqttKey, cmdTopic, CommandSchema, cmd, fromHex(nonces[cmd.type])))
  // The box's marks after applying both, then the verdicts for a replay, an older and a newer command.
  let marks: CommandMarks = {}
  for (const cmd of [time, revocations]) {
    const v = checkCommandSeq(marks, cmd)
    if (v.apply) marks = v.marks
  }
  const cases = [
    { type: 'time', seq: 41 },
    { type: 'revocations', seq: 40 },
    { type: 'time', seq: 43 },
  ] as const
  return {
    topic: cmdTopic,
    time: { message: time, sealed: seal(time) },
    revocations: { message: revocations, sealed: seal(revocations) },
    sequence: {
      marks,
      checks: cases.map((k) => ({ ...k, apply: checkCommandSeq(marks, k).apply })),
    },
  }
}

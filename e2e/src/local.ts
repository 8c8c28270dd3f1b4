/**
 * `npm start`: the whole system on this machine, on embedded defaults — the bridge (PGlite in .opg-local/,
 * in-process MQTT broker, sandbox SMS and card provider) and one merchant box with simulated hardware,
 * provisioned on first start. Prints what runs where; Ctrl-C stops everything; the next start reuses the data.
 */
import { join, relative } from 'node:path'
import { formatMoney } from '@opg/protocol'
import { pino } from 'pino'
import { LocalStack, type StackInfo } from './stack.js'

/** Run until SIGINT/SIGTERM. `dataDir` defaults to $OPG_LOCAL_DIR or ./.opg-local. */
export async function runLocal(o: { dataDir?: string; stopSignal?: Promise<void> } = {}): Promise<number> {
  const dataDir = o.dataDir ?? process.env.OPG_LOCAL_DIR ?? join(process.cwd(), '.opg-local')
  const boxLog = pino(
    { level: 'info', base: { part: 'box' } },
    pino.destination({ dest: join(dataDir, 'box.log'), mkdir: true }),
  )
  const stack = new LocalStack({ dataDir, env: bridgeEnv(process.env), boxLogger: boxLog })
  let stopping: (() => void) | undefined
  const stopped =
    o.stopSignal ??
    new Promise<void>((resolve) => {
      stopping = resolve
    })
  const onSignal = () => stopping?.()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const info = await stack.start()
    console.log(describe(info, dataDir))
    console.log(`box: ${stack.box.node.sync.online ? 'online' : 'connecting…'}`)
    stack.box.node.sync.on('online', () => console.log('box: online'))
    stack.box.node.sync.on('offline', () => console.log('box: offline'))
    stack.box.onSignal((s) =>
      console.log(
        s.ok
          ? `box: PAID ${formatMoney(s.amount, s.currency)} (green LED), tx ${s.txId}`
          : `box: REFUSED ${s.code} (red LED)`,
      ),
    )
    stack.box.node.notices.onConfirmed((n) =>
      console.log(`box: invoice ${n.ref} paid online, ${formatMoney(n.amount, n.currency)} (via ${n.via})`),
    )
    await stopped
    console.log('\nstopping…')
    return 0
  } catch (err) {
    console.error(`opg-local: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await stack.stop()
    boxLog.flush()
    console.log('stopped.')
  }
}

/** Only the bridge's own variables pass through, so an unrelated environment cannot change the setup. */
function bridgeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(([k]) => k === 'DATABASE_URL' || k === 'MQTT_URL' || k.startsWith('OPG_')),
  )
}

function describe(i: StackInfo, dataDir: string): string {
  const rel = (p: string) => {
    const r = relative(process.cwd(), p)
    return r.startsWith('..') ? p : r || '.'
  }
  const cfg = rel(i.box.configPath)
  return `
opg — the whole system, locally ${i.firstRun ? '(first start: tenant, issuer key and box created)' : '(data reused)'}

  Bridge API        ${i.httpUrl}
  OpenAPI document  ${i.openapiUrl}
  MQTT broker       ${i.mqttUrl} (in-process)
  Database          ${i.databaseUrl.startsWith('postgres') ? i.databaseUrl.replace(/:[^:@/]*@/, ':***@') : rel(i.databaseUrl)}
  Operator key      ${i.operatorKey}
  SMS               sandbox: curl -H 'authorization: Bearer ${i.operatorKey}' ${i.httpUrl}/v1/sandbox/sms
                    (messages to the box's modem number ${i.box.modemNumber} are also put on its simulated modem)
  Data folder       ${rel(dataDir)} (logs: bridge.log, box.log)

  Merchant box      ${i.box.merchantName}, device ${i.box.deviceId} (simulated hardware)
    config          ${cfg}
    merchant key    ${i.box.merchantKey}
    sticker         ${i.box.sticker}

  Try it:
    export OPG_BRIDGE_URL=${i.httpUrl} OPG_OPERATOR_KEY=${i.operatorKey}
    export OPG_WALLET_DIR=${rel(join(dataDir, 'wallet'))} OPG_WALLET_PASSPHRASE='local demo only'
    alias opg-wallet='node wallet-sdk/bin/opg-wallet.js' opg-node='node node-runtime/bin/opg-node.js'
    opg-wallet create --phone +15550000123 && opg-wallet top-up 50 && opg-wallet load-purse 20
    opg-wallet pay --sticker '${i.box.sticker}' --amount 2.50 --png ${rel(join(dataDir, 'pay.png'))}
    opg-node scan ${rel(join(dataDir, 'pay.png'))} --config ${cfg}   # the box's QR decoder reads it
    opg-node status --config ${cfg}
    npm run demo                                      # the five payment cases, narrated

Ctrl-C stops everything.`
}

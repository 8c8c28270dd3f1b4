/**
 * The HTTP server on a real socket: HTTPS with a self-signed certificate made for the test (openssl; node
 * cannot make X.509 certificates), and the refusal to serve plain HTTP on a non-loopback address.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Hono } from 'hono'
import t from 'tap'
import { HttpServer } from '../../src/api/http-server.js'

function selfSigned(): { cert: Buffer; key: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'opg-tls-'))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  )
  return { cert: readFileSync(cert), key: readFileSync(key) }
}

function get(url: string, ca: Buffer): Promise<{ status: number; body: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false }, (res) => {
      let body = ''
      res.on('data', (c) => {
        body += c
      })
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          protocol: (res.socket as { getProtocol?: () => string }).getProtocol?.() ?? '',
        }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('serves HTTPS when a certificate is configured', async (t) => {
  const tls = selfSigned()
  const app = new Hono().get('/health', (c) => c.json({ ok: true }))
  const server = new HttpServer({ fetch: app.fetch, host: '127.0.0.1', port: 0, tls })
  const url = await server.start()
  t.teardown(() => server.stop())
  t.match(url, /^https:\/\/127\.0\.0\.1:\d+$/)
  const r = await get(`${url}/health`, tls.cert)
  t.equal(r.status, 200)
  t.same(JSON.parse(r.body), { ok: true })
  t.match(r.protocol, /^TLSv1\.[23]$/)
  await t.rejects(
    get(`${url}/health`, selfSigned().cert),
    'a client that does not trust the certificate refuses',
  )
})

t.test('plain HTTP only on loopback unless explicitly allowed', async (t) => {
  const app = new Hono()
  await t.rejects(new HttpServer({ fetch: app.fetch, host: '0.0.0.0', port: 0 }).start(), {
    code: 'not_configured',
  })
  const server = new HttpServer({ fetch: app.fetch, host: '0.0.0.0', port: 0, allowInsecureBind: true })
  t.match(await server.start(), /^http:\/\//)
  await server.stop()
  await server.stop()
  t.pass('stop is idempotent')
})

/**
 * The console's static files, served by the bridge itself (no CDN): its own stylesheet and script, and the
 * uPlot chart library from its npm package. Read once, on first request.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Context } from 'hono'

const here = dirname(fileURLToPath(import.meta.url))
const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'))

const FILES: Record<string, { path: string; type: string }> = {
  'console.css': { path: join(here, 'assets', 'console.css'), type: 'text/css; charset=utf-8' },
  'console.js': { path: join(here, 'assets', 'console.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.iife.min.js': { path: join(uplotDist, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: join(uplotDist, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
}
const cache = new Map<string, Buffer>()

export async function serveAsset(c: Context, name: string): Promise<Response> {
  const f = FILES[name]
  if (!f) return c.text('not found', 404)
  let body = cache.get(name)
  if (!body) {
    body = await readFile(f.path)
    cache.set(name, body)
  }
  c.header('Content-Type', f.type)
  return c.body(new Uint8Array(body))
}

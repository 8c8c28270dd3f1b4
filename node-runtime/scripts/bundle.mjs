/**
 * Bundles the box's command (src/cli/index.ts and everything it imports, @opg/protocol included) into
 * dist/bundle/, which bin/opg-node.js runs. One minified, tree-shaken ESM file loads in a fraction of the time
 * and memory of the ~600 modules it replaces (docs/BENCHMARKS.md, "the built box"); what only some paths need
 * stays behind a dynamic import() and becomes its own chunk. Modules with native or wasm parts stay files in
 * node_modules, loaded by Node as before.
 */
import { build } from 'esbuild'

const EXTERNAL = [
  // Native addons (and the packages that locate them next to their own files).
  '@abandonware/bleno',
  '@abandonware/bluetooth-hci-socket',
  'serialport',
  '@serialport/*',
  'onoff',
  'epoll',
  'cbor-extract',
  // WebAssembly next to its JavaScript.
  'zxing-wasm',
  'zxing-wasm/*',
  // Calls the deprecated Buffer() constructor; Node warns about that only outside node_modules.
  'node-aes-cmac',
]

await build({
  entryPoints: { 'opg-node': 'src/cli/index.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // The box's stack traces keep function and class names (error classes are matched by name in logs).
  keepNames: true,
  external: EXTERNAL,
  // Plain node takes the packages' `default` export condition (dist/); bundle the sources instead.
  conditions: ['@opg/source'],
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __opgRequire } from 'node:module'; const require = __opgRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: process.env.BUNDLE_META === '1',
}).then(async (r) => {
  if (r.metafile) {
    const { writeFile } = await import('node:fs/promises')
    await writeFile('dist/bundle/meta.json', JSON.stringify(r.metafile))
  }
})

// The portable core must run where Node does not: walk the import graph from the package's "." entry (and
// every file under src/core) through @opg/protocol, and refuse node: imports, Node built-ins and Node globals.
import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const here = dirname(fileURLToPath(import.meta.url))
const sdk = resolve(here, '..')
const protocolEntry = resolve(sdk, '../protocol/src/index.ts')
/**
 * Third-party packages known to be portable: @noble (pure JS), zod (pure JS), cbor-x (reached through the
 * protocol's MQTT codecs; pure JS in browser-like runtimes, its native cbor-extract speed-up is optional).
 */
const PORTABLE_PACKAGES = [/^@noble\/(curves|hashes|ciphers)\//, /^zod(\/|$)/, /^cbor-x$/]
const NODE_GLOBALS = /\b(Buffer|process|require|__dirname|__filename|setImmediate)\s*[.(]/

interface Finding {
  file: string
  problem: string
}

function imports(source: string): string[] {
  const out: string[] = []
  const re =
    /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g
  for (const m of source.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!)
  return out
}

/** Every problem in the import graph reachable from `entries`. */
export function scan(entries: string[]): { files: Set<string>; findings: Finding[] } {
  const files = new Set<string>()
  const findings: Finding[] = []
  const queue = [...entries]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (files.has(file)) continue
    files.add(file)
    const source = readFileSync(file, 'utf8')
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
    if (NODE_GLOBALS.test(code))
      findings.push({ file, problem: `uses a Node global: ${NODE_GLOBALS.exec(code)![0]}` })
    for (const spec of imports(code)) {
      if (spec.startsWith('.')) {
        queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
      } else if (spec === '@opg/protocol') {
        queue.push(protocolEntry)
      } else if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!)) {
        findings.push({ file, problem: `imports ${spec}` })
      } else if (!PORTABLE_PACKAGES.some((p) => p.test(spec))) {
        findings.push({ file, problem: `imports a package not known to be portable: ${spec}` })
      }
    }
  }
  return { files, findings }
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

t.test(
  'the "." entry and src/core import nothing Node-only, all the way through @opg/protocol',
  async (t) => {
    const entries = [join(sdk, 'src/index.ts'), ...tsFiles(join(sdk, 'src/core'))]
    const { files, findings } = scan(entries)
    t.ok(files.has(protocolEntry), 'the walk reaches into @opg/protocol')
    t.ok(files.size > 20, `walked ${files.size} files`)
    t.same(findings, [], 'no Node-only imports or globals')
  },
)

t.test('the scanner does find Node imports (it can fail)', async (t) => {
  const { findings } = scan([join(sdk, 'src/node/index.ts')])
  t.ok(
    findings.some((f) => f.problem.includes('node:')),
    'src/node is flagged',
  )
})

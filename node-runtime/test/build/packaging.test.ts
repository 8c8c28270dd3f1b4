/**
 * The built runtime as the box ships it, checked from the files (no Docker daemon or Pi here): the export
 * maps send plain `node` to dist/ and the development condition to src/, the systemd unit and Dockerfile.arm64
 * run the built launcher with the same Node flags and malloc settings, and the container carries exactly the
 * files the SD-card image carries (node-runtime/README.md, "Built runtime").
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8')
const json = (p: string) => JSON.parse(read(p)) as Record<string, unknown>

/** What the box needs besides production node_modules: one list for the image and the container. */
const SHIPPED = [
  'package.json',
  'node_modules',
  'protocol/package.json',
  'protocol/dist',
  'protocol/node_modules',
  'node-runtime/package.json',
  'node-runtime/bin',
  'node-runtime/dist',
  'node-runtime/node_modules',
]

function unitExec(): { node: string; flags: string[]; script: string; args: string[] } {
  const line = /^ExecStart=(.*)$/m.exec(read('device-config/opg-node.service'))?.[1]
  if (!line) throw new Error('no ExecStart')
  const words = line.trim().split(/\s+/)
  const at = words.findIndex((w) => w.endsWith('.js'))
  return { node: words[0]!, flags: words.slice(1, at), script: words[at]!, args: words.slice(at + 1) }
}

function unitMalloc(): string[] {
  return [...read('device-config/opg-node.service').matchAll(/^Environment=(.*)$/gm)]
    .flatMap((m) => m[1]!.trim().split(/\s+/))
    .filter((kv) => kv.startsWith('MALLOC_'))
    .sort()
}

/** Dockerfile.arm64 as stages of [instruction, argument] pairs (continuation lines joined). */
function dockerStages(): { from: string; lines: [string, string][] }[] {
  const text = read('Dockerfile.arm64').replace(/\\\n/g, ' ')
  const stages: { from: string; lines: [string, string][] }[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const [, op, arg] = /^(\S+)\s+(.*)$/.exec(line) ?? []
    if (!op || arg === undefined) throw new Error(`unreadable Dockerfile line: ${line}`)
    if (op.toUpperCase() === 'FROM') stages.push({ from: arg, lines: [] })
    else stages.at(-1)?.lines.push([op.toUpperCase(), arg])
  }
  return stages
}

t.test(
  'each package the box runs exports dist/ JavaScript to plain node and src/ under @opg/source',
  async (t) => {
    for (const pkg of ['protocol', 'node-runtime']) {
      const manifest = json(`${pkg}/package.json`)
      const build = json(`${pkg}/tsconfig.build.json`) as { compilerOptions: Record<string, unknown> }
      t.equal(build.compilerOptions.outDir, 'dist', `${pkg} emits to dist/`)
      t.equal(build.compilerOptions.rootDir, 'src', `${pkg} keeps src/'s layout under dist/`)
      t.match(
        (manifest.scripts as Record<string, string>).build,
        /^tsc -p tsconfig\.build\.json( && node scripts\/bundle\.mjs)?$/,
        `${pkg} builds with tsc (and node-runtime bundles the box after it)`,
      )
      for (const [sub, target] of Object.entries(manifest.exports as Record<string, unknown>)) {
        if (typeof target === 'string') {
          t.ok(
            target.endsWith('.mjs') && existsSync(join(ROOT, pkg, target)),
            `${pkg} ${sub} is plain JavaScript`,
          )
          continue
        }
        const { '@opg/source': source, default: built } = target as Record<string, string>
        t.match(source, /^\.\/src\/.*\.ts$/, `${pkg} ${sub}: @opg/source → src`)
        t.ok(existsSync(join(ROOT, pkg, source!)), `${pkg} ${sub}: ${source} exists`)
        t.equal(
          built,
          source!.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '.js'),
          `${pkg} ${sub}: default → dist`,
        )
        t.equal(
          Object.keys(target as object)[0],
          '@opg/source',
          `${pkg} ${sub}: the source condition comes first`,
        )
      }
    }
    const root = json('tsconfig.json') as { compilerOptions: { customConditions?: string[] } }
    t.same(root.compilerOptions.customConditions, ['@opg/source'], 'typecheck reads the sources')
    t.match(
      json('package.json').scripts,
      { build: /-w protocol -w node-runtime/ },
      'npm run build builds both',
    )
  },
)

t.test('the box carries no loader or compiler in its production dependencies', async (t) => {
  for (const pkg of ['protocol', 'node-runtime']) {
    const deps = Object.keys((json(`${pkg}/package.json`).dependencies as Record<string, string>) ?? {})
    t.notOk(deps.includes('tsx'), `${pkg} does not depend on tsx`)
    t.notOk(deps.includes('typescript'), `${pkg} does not depend on typescript`)
  }
})

t.test('the systemd unit runs the built launcher with the memory settings', async (t) => {
  const exec = unitExec()
  t.equal(exec.node, '/usr/bin/node')
  t.equal(exec.script, '/opt/opg/node-runtime/bin/opg-node.js')
  t.same(exec.args, ['start', '--config', `\${OPG_CONFIG}`], 'systemd expands the config path')
  t.ok(exec.flags.includes('--max-semi-space-size=1'), 'small young generation')
  t.ok(
    exec.flags.some((f) => f.startsWith('--max-old-space-size=')),
    'old space capped',
  )
  t.notOk(
    exec.flags.some((f) => /tsx|--import|--loader|--conditions/.test(f)),
    'no loader, no source condition',
  )
  t.ok(unitMalloc().length > 0, 'malloc settings present')
})

t.test(
  'Dockerfile.arm64 builds with npm run build and ships what the image ships, run as the unit runs it',
  async (t) => {
    const stages = dockerStages()
    t.equal(stages.length, 2, 'a build stage and a runtime stage')
    // The same Node release as the SD-card image installs (images/build.sh's default OPG_NODE_VERSION).
    const imageNode = /NODE_VERSION=\$\{OPG_NODE_VERSION:-(20\.\d+\.\d+)\}/.exec(read('images/build.sh'))?.[1]
    t.ok(imageNode, 'images/build.sh names a Node 20 release')
    for (const s of stages)
      t.match(s.from, new RegExp(`^node:${imageNode}-bookworm-slim\\b`), "the image's Node on bookworm")
    const [build, run] = stages as [(typeof stages)[0], (typeof stages)[0]]
    t.match(build.from, /AS build$/i)
    const buildRuns = build.lines.filter(([op]) => op === 'RUN').map(([, a]) => a)
    const buildAt = buildRuns.indexOf('npm run build')
    const prodAt = buildRuns.findIndex((a) => /npm ci --omit=dev -w protocol -w node-runtime/.test(a))
    t.ok(buildAt >= 0, 'the build stage runs npm run build')
    t.ok(prodAt > buildAt, 'then reinstalls production dependencies only')

    const workdir = run.lines.find(([op]) => op === 'WORKDIR')?.[1]
    t.equal(workdir, '/opt/opg', 'same prefix as the unit')
    const copied = run.lines
      .filter(([op, a]) => op === 'COPY' && a.startsWith('--from=build '))
      .map(([, a]) => a.split(/\s+/)[1]!.replace(/^\/opt\/opg\//, ''))
    t.same(copied.sort(), [...SHIPPED].sort(), 'the runtime stage copies exactly the shipped files')
    t.ok(
      run.lines.some(
        ([op, a]) => op === 'COPY' && a === 'device-config/raspistill /usr/local/bin/raspistill',
      ),
      'raspistill (mapped onto rpicam-still) where the image installs it',
    )
    t.match(read('images/build.sh'), /device-config\/raspistill" "\$ROOTFS\/usr\/local\/bin\/raspistill"/)
    t.notOk(
      run.lines.some(([op, a]) => op === 'COPY' && /\bsrc\b/.test(a)),
      'no TypeScript sources in the runtime stage',
    )

    const entry = JSON.parse(run.lines.find(([op]) => op === 'ENTRYPOINT')![1]) as string[]
    const exec = unitExec()
    t.same(
      entry,
      ['node', ...exec.flags, 'node-runtime/bin/opg-node.js'],
      'ENTRYPOINT = ExecStart (flags, launcher)',
    )
    t.same(JSON.parse(run.lines.find(([op]) => op === 'CMD')![1]), [
      'start',
      '--config',
      '/etc/opg/opg-node.json',
    ])
    const env = run.lines
      .filter(([op]) => op === 'ENV')
      .flatMap(([, a]) => a.split(/\s+/))
      .filter((kv) => kv.startsWith('MALLOC_'))
      .sort()
    t.same(env, unitMalloc(), 'the same malloc settings as the unit')
  },
)

t.test('every module the bundle leaves external resolves from where the bundle sits', async (t) => {
  // dist/bundle/opg-node.js finds an external module by walking up: node-runtime/node_modules, then the root
  // node_modules. A lockfile that nested one only under protocol/node_modules would ship a box that cannot
  // load it, so the lockfile is checked, not the development tree.
  const src = read('node-runtime/scripts/bundle.mjs')
  const list = /const EXTERNAL = \[([\s\S]*?)\]/.exec(src)?.[1]
  t.ok(list, 'scripts/bundle.mjs names its external modules')
  const names = [...(list ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]!).filter((n) => !n.includes('*'))
  t.ok(names.length >= 5, `external modules found (${names.join(', ')})`)
  const lock = json('package-lock.json') as { packages: Record<string, unknown> }
  for (const name of names) {
    const found = [`node-runtime/node_modules/${name}`, `node_modules/${name}`].find(
      (p) => p in lock.packages,
    )
    t.ok(found, `${name} installs where the bundle looks (${found ?? 'only elsewhere'})`)
  }
})

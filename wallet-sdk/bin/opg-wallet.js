#!/usr/bin/env node
// Launcher: load TypeScript through tsx, then run the CLI with the process's I/O.
import '@opg/protocol/dev/source-loader'

const { runCli } = await import('../src/cli/main.ts')
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
  progressStream: process.stderr.isTTY ? process.stderr : undefined,
})

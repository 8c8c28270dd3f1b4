#!/usr/bin/env node
// The opg-bridge command: runs the TypeScript sources through tsx (with the @opg/source condition), then runs the CLI.
import '@opg/protocol/dev/source-loader'

const { runCli } = await import('../src/cli.ts')
process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
})

/** The shared shape of the opg commands: program, exit codes, error line, progress, tables. */
export * from './program.js'
export * from './progress.js'
export * from './table.js'

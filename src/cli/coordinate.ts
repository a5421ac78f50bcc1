#!/usr/bin/env node
// The `coordinate` command: Python Coordinate's command line for Node. Everything worth testing
// lives in runCoordinate (src/cli/commands/program.ts); this file only wires the process to it.
import { runCoordinate } from './commands/program.js'

// `coordinate work_units … | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

runCoordinate(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`coordinate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  },
)

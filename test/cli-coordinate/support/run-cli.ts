import { spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

// The CLI runs as a real subprocess. Compiling the package with tsc takes half a minute, so the
// tests bundle src/cli/coordinate.ts alone with esbuild (what vitest itself runs on) into
// node_modules/.cache, where it still finds the package's dependencies and package.json. Split
// into chunks, so that its dynamic imports stay lazy as in the built package: one file would
// hoist every dependency's import to the top, and each run would load the daemon, the HTTP
// server and PGlite before answering (0.7 s against 0.15 s for --help).
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
let bundled: Promise<string> | undefined

/** Bundles the CLI once per test file and returns the script's path. */
export function cliScript(): Promise<string> {
  bundled ??= (async () => {
    const outdir = join(root, 'node_modules', '.cache', `coordinate-cli-${process.pid}`)
    await mkdir(outdir, { recursive: true })
    await build({
      entryPoints: [join(root, 'src/cli/coordinate.ts')],
      outdir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'error',
    })
    return join(outdir, 'coordinate.mjs')
  })()
  return bundled
}

/** What one run of the CLI did. */
export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/** Options for one run: text for stdin, extra environment. */
export interface RunOptions {
  input?: string
  env?: Record<string, string | undefined>
  cwd?: string
}

/** Runs `coordinate ARGS…` to completion. The environment has no DATABASE_URL or COORDINATE_* unless given. */
export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const script = await cliScript()
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && key !== 'DATABASE_URL' && !key.startsWith('COORDINATE_') && key !== 'NO_COLOR') env[key] = value
  }
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value
  // No user config file may leak in from the machine running the tests.
  env.XDG_CONFIG_HOME ??= join(root, 'node_modules', '.cache', 'no-config-here')
  const started = performance.now()
  const child = spawn(process.execPath, [script, ...args], { env, cwd: options.cwd ?? root, stdio: ['pipe', 'pipe', 'pipe'] })
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
  child.stdin.on('error', () => undefined)
  child.stdin.end(options.input ?? '')
  const code = await new Promise<number | null>((resolveCode) => child.on('close', (exitCode) => resolveCode(exitCode)))
  return { code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), ms: performance.now() - started }
}

import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dropDatabase, freshDatabase, median, report } from './support.js'

const DATABASE = 'coordinate_bench_startup'
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 3)
const coordinatedJs = fileURLToPath(new URL('../src/cli/coordinated.js', import.meta.url))

/**
 * How long `coordinated` takes from its process being spawned to serving, each start a new
 * process as an operator's would be: on embedded PGlite in a new data directory (with the
 * cached migrated template, and without it: initdb plus migrations, the baseline), in an
 * existing one (a restart), and on the PostgreSQL server. Also how long a stop takes.
 */
export async function benchStartup(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'coordinate-bench-startup-'))
  const url = await freshDatabase(DATABASE)
  try {
    const cache = join(scratch, 'cache')
    const help = await repeat(() => timeToExit(['--help']))
    const bare = await repeat(() => timeToExit(['-e', ''], true))
    report('coordinated --help, a new process', ms(help), { to: 'a bare `node -e ""`', value: help / bare })
    // The first start builds the template; it is measured with the baseline's runs.
    const fresh = await repeat((run) => timeToServe(['--data-dir', join(scratch, `fresh-${run}`)], 'off'))
    await timeToServe(['--data-dir', join(scratch, 'builds-template')], cache)
    const templated = await repeat((run) => timeToServe(['--data-dir', join(scratch, `templated-${run}`)], cache))
    const restart = await repeat(() => timeToServe(['--data-dir', join(scratch, 'templated-0')], cache))
    const baseline = { to: 'a new PGlite directory without the template (initdb + migrations)', value: 0 }
    report('start on PGlite, new data dir, cached template', ms(templated.serve), { ...baseline, value: templated.serve / fresh.serve })
    report('start on PGlite, existing data dir (a restart)', ms(restart.serve), { ...baseline, value: restart.serve / fresh.serve })
    report('start on PGlite, new data dir, no template (baseline)', ms(fresh.serve))
    const server = await repeat(() => timeToServe(['--database-url', url], cache))
    report('start on the PostgreSQL server', ms(server.serve), { ...baseline, value: server.serve / fresh.serve })
    report('SIGTERM to exit, idle, PGlite', ms(restart.stop))
  } finally {
    await rm(scratch, { recursive: true, force: true })
    await dropDatabase(DATABASE)
  }
}

/** Runs a measurement RUNS times and returns the median of each figure. */
async function repeat<T extends number | Record<string, number>>(measure: (run: number) => Promise<T>): Promise<T> {
  const results: T[] = []
  for (let run = 0; run < RUNS; run++) results.push(await measure(run))
  const first = results[0]!
  if (typeof first === 'number') return median(results as number[]) as T
  return Object.fromEntries(Object.keys(first).map((key) => [key, median(results.map((r) => (r as Record<string, number>)[key]!))])) as T
}

async function timeToExit(args: string[], bareNode = false): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, bareNode ? args : [coordinatedJs, ...args], { stdio: 'ignore' })
  await new Promise((resolve) => child.on('exit', resolve))
  return performance.now() - started
}

/** Spawns the daemon, times it to its "coordinated started" line, then times a SIGTERM stop. */
async function timeToServe(args: string[], cacheDir: string): Promise<{ serve: number; stop: number }> {
  const started = performance.now()
  const child = spawn(process.execPath, [coordinatedJs, '--listen', '127.0.0.1:0', '--log-format', 'json', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, COORDINATE_CACHE_DIR: cacheDir },
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  let output = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      if (output.includes('"msg":"coordinated started"')) resolve()
    })
    void exited.then((code) => reject(new Error(`coordinated exited with ${code} before serving`)))
  })
  const serve = performance.now() - started
  const stopping = performance.now()
  child.kill('SIGTERM')
  await exited
  return { serve, stop: performance.now() - stopping }
}

function ms(value: number): string {
  return `${Math.round(value)} ms`
}

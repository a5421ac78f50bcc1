import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runDaemon } from '../src/cli/daemon.js'
import { openCoordinate } from '../src/postgres/open.js'
import { dropDatabase, freshDatabase, report, timed, vacuum } from './support.js'

const DATABASE = 'coordinate_bench_cli'
const UNITS = Number(process.env.BENCH_CLI_UNITS ?? 1_000_000)
// The compiled CLI next to this file's compiled form (npm run bench builds both).
const CLI = join(dirname(fileURLToPath(import.meta.url)), '../src/cli/coordinate.js')

const key = (i: number): string => `unit-${String(i).padStart(8, '0')}`
const data = (i: number): { n: number; url: string } => ({ n: i, url: `https://example.com/${i}` })

/**
 * `coordinate load` of a JSONL file, run as its own process (start-up, checking pass and all),
 * against addWorkUnits of the same units already in memory, in the same run and database.
 */
export async function benchCliLoad(): Promise<void> {
  const url = await freshDatabase(DATABASE)
  const scratch = await mkdtemp(join(tmpdir(), 'coordinate-bench-cli-'))
  try {
    const unitsFile = join(scratch, 'units.jsonl')
    await writeUnitFile(unitsFile)
    const library = await libraryRate(url)
    report(`addWorkUnits, ${UNITS} units in memory, one call`, `${Math.round(library)} units/s`)

    await vacuum(url)
    const direct = await cliRate(['--database-url', url], 'cli-database', unitsFile, scratch)
    report(`coordinate load --database-url, ${UNITS}-line JSONL`, `${Math.round(direct)} units/s`, { to: 'addWorkUnits from the library', value: direct / library })

    await vacuum(url)
    const daemon = await runDaemon({ databaseUrl: url, port: 0, logLevel: 'silent' })
    try {
      const served = await cliRate(['--address', `127.0.0.1:${daemon.address.port}`], 'cli-daemon', unitsFile, scratch)
      report(`coordinate load --address (coordinated), same file`, `${Math.round(served)} units/s`, { to: 'addWorkUnits from the library', value: served / library })
    } finally {
      await daemon.stop()
    }
  } finally {
    await rm(scratch, { recursive: true, force: true })
    await dropDatabase(DATABASE)
  }
}

async function writeUnitFile(path: string): Promise<void> {
  const out = createWriteStream(path)
  for (let i = 0; i < UNITS; i++) {
    if (!out.write(`${JSON.stringify({ [key(i)]: data(i) })}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

async function libraryRate(url: string): Promise<number> {
  const coordinate = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
  try {
    const spec = await (await coordinate.namespace('')).setWorkSpec({ name: 'library' })
    const items = Array.from({ length: UNITS }, (_, i) => ({ key: key(i), data: data(i) }))
    const { ms } = await timed(() => spec.addWorkUnits(items))
    return UNITS / (ms / 1000)
  } finally {
    await coordinate.close()
  }
}

// Wall time of the whole command, measured from here: what a user waits for.
async function cliRate(target: string[], spec: string, unitsFile: string, scratch: string): Promise<number> {
  const specFile = join(scratch, `${spec}.yaml`)
  await writeFile(specFile, `name: ${spec}\n`)
  const { value: code, ms } = await timed(async () => {
    const child = spawn(process.execPath, [CLI, ...target, 'load', '-w', specFile, '-u', unitsFile, '--json'], { stdio: ['ignore', 'ignore', 'inherit'] })
    const [exitCode] = (await once(child, 'exit')) as [number | null]
    return exitCode
  })
  if (code !== 0) throw new Error(`coordinate load exited with ${code}`)
  return UNITS / (ms / 1000)
}

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll } from 'vitest'
import { type DaemonHandle, runDaemon } from '../../../src/cli/daemon.js'
import type { PostgresCoordinate } from '../../../src/postgres/coordinate.js'
import { openCoordinate } from '../../../src/postgres/open.js'
import { startRestServer } from '../../../src/rest/index.js'
import { createFileDatabase } from '../../support/database.js'

/** One way for the CLI to reach the store: the flags that select it, and the library's view of the same namespace. */
export interface CliTarget {
  name: string
  args: string[]
}

/** The test file's database, a daemon on it, and a scratch directory, all gone after the file. */
export interface CliFixture {
  /** The library on the same database (undefined on PGlite, which the daemon holds). */
  coordinate: PostgresCoordinate | undefined
  url: string | undefined
  daemon: DaemonHandle
  scratch: string
  /** The daemon (namespace ""); when the database is a server, also the database URL (namespace "cli") and the REST API (namespace "http"). */
  targets: CliTarget[]
}

/** Opens the database, starts coordinated on a free port over it, and makes a scratch directory. */
export async function openCliFixture(): Promise<CliFixture> {
  // The daemon and the CLI subprocess run on real time, so this file's Coordinate does too.
  const database = await createFileDatabase()
  const url = database.url
  const scratch = await mkdtemp(join(tmpdir(), 'coordinate-cli-test-'))
  const daemon = await runDaemon({ ...(url ? { databaseUrl: url } : { dataDir: join(scratch, 'pglite') }), port: 0, logger: pino({ level: 'silent' }) })
  // Without a server, the daemon owns the PGlite directory; this file then checks through the daemon only.
  const coordinate = url ? await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 }) : undefined
  // The REST API over the same database, as coordinated serves it (without its cache).
  const rest = coordinate ? await startRestServer({ coordinate, host: '127.0.0.1', port: 0 }) : undefined
  afterAll(async () => {
    await rest?.close()
    await daemon.stop()
    await coordinate?.close()
    await database.drop()
    await rm(scratch, { recursive: true, force: true })
  })
  const targets: CliTarget[] = [{ name: 'daemon (--address)', args: ['--address', `127.0.0.1:${daemon.address.port}`] }]
  // PGlite lives in this process only; a subprocess can reach the store through the daemon alone.
  if (url) targets.push({ name: 'database (--database-url)', args: ['--database-url', url, '-N', 'cli'] })
  if (rest) targets.push({ name: 'REST (--http)', args: ['--http', rest.url, '-N', 'http'] })
  return { coordinate, url, daemon, scratch, targets }
}

/** The namespace a target's commands act on. */
export function namespaceOf(target: CliTarget): string {
  const at = target.args.indexOf('-N')
  return at < 0 ? '' : target.args[at + 1]!
}

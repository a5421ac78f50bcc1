import { inject } from 'vitest'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { runAdminStatement } from '../../bench/server-admin.js'

// How long a drop waits for the file's own connections to finish closing before it forces them.
const CLOSING_GRACE_MS = 2_000

/** A database of this test file's own: a URL to open (undefined = PGlite in memory) and a drop(). */
export interface FileDatabase {
  url: string | undefined
  drop: () => Promise<void>
}

/** Creates a fresh database for one test file on the run's server, so files can run in parallel. */
export async function createFileDatabase(): Promise<FileDatabase> {
  const serverUrl = inject('databaseUrl')
  if (!serverUrl) return { url: undefined, drop: async () => undefined }
  const name = `coordinate_test_${randomBytes(6).toString('hex')}`
  await runAdminStatement(serverUrl, `CREATE DATABASE ${name} TEMPLATE template0`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      await closingConnectionsGone(serverUrl, name)
      await runAdminStatement(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    },
  }
}

// A pool's end() resolves once its clients are asked to close, not once they have: a forced drop
// right then terminates a connection still closing, and its client (no longer listened to by
// the pool) throws "terminating connection" as an uncaught error into whatever test runs next.
async function closingConnectionsGone(serverUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    const deadline = Date.now() + CLOSING_GRACE_MS
    while (Date.now() < deadline) {
      const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name])
      if (rows[0]!.n === 0) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  } finally {
    await admin.end()
  }
}

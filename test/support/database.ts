import { inject } from 'vitest'
import { randomBytes } from 'node:crypto'
import { runAdminStatement } from '../../bench/server-admin.js'

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
    drop: () => runAdminStatement(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  }
}

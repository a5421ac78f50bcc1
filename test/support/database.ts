import { inject } from 'vitest'
import pg from 'pg'
import { randomBytes } from 'node:crypto'

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
  await admin(serverUrl, `CREATE DATABASE ${name} TEMPLATE template0`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  }
}

async function admin(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

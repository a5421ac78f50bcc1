import pg from 'pg'

/**
 * Runs one statement (CREATE or DROP DATABASE) on its own connection to the server: such
 * statements cannot run inside a pool's transaction or on the database they drop. Benchmarks
 * and test support both make scratch databases with it.
 */
export async function runAdminStatement(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

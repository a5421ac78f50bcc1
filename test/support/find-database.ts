import pg from 'pg'

/** The database a test run uses. */
export interface TestDatabaseTarget {
  url: string
  description: string
  stop: () => Promise<void>
}

const LOCAL_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const noop = async () => undefined

/**
 * DATABASE_URL when set; else a PostgreSQL 15 container through testcontainers; else the
 * server on 127.0.0.1:5432 (what CI starts); else PGlite in memory, which still runs every
 * query for real but cannot show what concurrent sessions do.
 */
export async function findTestDatabase(): Promise<TestDatabaseTarget> {
  const fromEnv = process.env.DATABASE_URL
  if (fromEnv) return { url: fromEnv, description: `DATABASE_URL (${redact(fromEnv)})`, stop: noop }
  const container = await startContainer()
  if (container) return container
  if (await reachable(LOCAL_URL)) return { url: LOCAL_URL, description: `local server ${redact(LOCAL_URL)} (no container runtime)`, stop: noop }
  return { url: '', description: 'PGlite in memory (no DATABASE_URL, container runtime or local server)', stop: noop }
}

async function startContainer(): Promise<TestDatabaseTarget | undefined> {
  try {
    // Imported only here: without a container runtime the rest of the run must not depend on it.
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
    const container = await new PostgreSqlContainer('postgres:15-alpine').start()
    return {
      url: container.getConnectionUri(),
      description: 'testcontainers postgres:15-alpine',
      stop: async () => {
        await container.stop()
      },
    }
  } catch {
    return undefined
  }
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}

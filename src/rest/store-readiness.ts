import type { PostgresObservability } from '../postgres/observability.js'
import type { CheckResult, ReadinessProbe } from './routes-health.js'

// A database that takes longer than this to answer SELECT 1 is not ready for traffic.
const PING_TIMEOUT_MS = 2_000

/** /readyz's checks for a Postgres-backed daemon: database reachable, migrations applied, change feed listening. */
export function storeReadiness(store: PostgresObservability): ReadinessProbe {
  return async () => {
    const checks: Record<string, CheckResult> = {}
    try {
      await withTimeout(store.ping(), PING_TIMEOUT_MS)
      checks.database = { ok: true }
      const { applied, latest } = await withTimeout(store.migrations(), PING_TIMEOUT_MS)
      checks.migrations = applied === latest ? { ok: true, detail: latest } : { ok: false, detail: `schema at ${applied ?? 'none'}, this version needs ${latest}` }
    } catch (error) {
      checks.database = { ok: false, detail: error instanceof Error ? error.message : String(error) }
      checks.migrations = { ok: false, detail: 'database unreachable' }
    }
    checks.change_feed = store.feedListening() ? { ok: true } : { ok: false, detail: 'the LISTEN connection is down' }
    return checks
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

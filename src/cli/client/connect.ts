import { CborRpcClient } from '../../cborrpc/client.js'
import type { Operations } from './operations.js'
import { rpcOperations } from './rpc-operations.js'
import type { Settings } from './settings.js'

/** The target cannot be reached; the message names it. */
export class UnreachableError extends Error {
  override name = 'UnreachableError'
}

/** Opens the operations for the target. CBOR-RPC connects on the first call; a database at once. */
export async function openOperations(settings: Settings, connectTimeoutMs: number): Promise<Operations> {
  const { target } = settings
  switch (target.kind) {
    case 'rpc':
      return rpcOperations(() => new CborRpcClient({ host: target.host, port: target.port, connectTimeoutMs }))
    case 'database': {
      // Loaded only here: the database layers take longer to load than a daemon call takes.
      const [{ openCoordinate }, { redactUrl }, { libraryOperations }] = await Promise.all([
        import('../../postgres/open.js'),
        import('../daemon.js'),
        import('./library-operations.js'),
      ])
      const where = redactUrl(target.url)
      const opening = openCoordinate({ databaseUrl: target.url, leaseSweepMs: 0, poolSize: 4 })
      const coordinate = await withinTimeout(opening, connectTimeoutMs, `cannot reach the database ${where}: no answer within ${connectTimeoutMs} ms`).catch((error: unknown) => {
        if (error instanceof UnreachableError) throw error
        throw new UnreachableError(`cannot open the database ${where}: ${(error as Error).message}`)
      })
      return libraryOperations(coordinate, await coordinate.namespace(settings.namespace), where)
    }
    case 'http':
      throw new UnreachableError(`--http ${target.url}: this build has no REST client; use --address or --database-url`)
  }
}

async function withinTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnreachableError(message)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

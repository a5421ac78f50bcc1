import { CborRpcClient } from '../../cborrpc/client.js'
import type { Operations } from './operations.js'
import { rpcOperations } from './rpc-operations.js'
import type { Settings } from './settings.js'

// Units per add request over HTTP: well under the server's 4 MiB body limit for data of a few hundred bytes.
const HTTP_BATCH_SIZE = 2_000

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
        import('../start-error.js'),
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
    case 'http': {
      const [{ restCoordinate }, { libraryOperations }] = await Promise.all([import('../../rest/index.js'), import('./library-operations.js')])
      const coordinate = restCoordinate(target.url, { timeoutMs: connectTimeoutMs, ...(target.token === undefined ? {} : { token: target.token }) })
      // Getting the namespace is a request: an unreachable daemon or a refused token shows here.
      const namespace = await coordinate.namespace(settings.namespace).catch(async (error: unknown) => {
        await coordinate.close()
        throw new UnreachableError(`cannot use the daemon at ${target.url}: ${(error as Error).message}`)
      })
      // The REST API takes at most 10,000 units per request and 4 MiB per body.
      return { ...libraryOperations(coordinate, namespace, target.url), loadBatchSize: HTTP_BATCH_SIZE }
    }
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

import type { RpcHandler } from '../cborrpc/server.js'

/**
 * The daemon's request handler, in front of the job server: it counts the requests being
 * served and can abandon them. The listener is bound before the database opens, so requests
 * that arrive meanwhile wait for `serve()`. CborRpcServer.close() waits for every answer, and a
 * request stuck on the database (a lock wait, a lost connection) must not hold the shutdown
 * forever: abandoning answers each with an error, and the connection then ends as usual.
 */
export class InFlight {
  readonly handler: RpcHandler
  #count = 0
  #abandoned = false
  readonly #abandon: Promise<never>
  #reject!: (error: Error) => void
  readonly #ready: Promise<RpcHandler>
  #serve!: (inner: RpcHandler) => void

  constructor() {
    this.#abandon = new Promise<never>((_, reject) => {
      this.#reject = reject
    })
    // Nobody may be waiting when it rejects; that must not count as an unhandled rejection.
    this.#abandon.catch(() => undefined)
    this.#ready = new Promise<RpcHandler>((resolve) => {
      this.#serve = resolve
    })
    this.handler = async (method, params, context) => {
      if (this.#abandoned) throw new Error('coordinated is shutting down')
      this.#count++
      try {
        const inner = await Promise.race([this.#ready, this.#abandon])
        return await Promise.race([inner(method, params, context), this.#abandon])
      } finally {
        this.#count--
      }
    }
  }

  /** Starts answering with `inner`, including the requests that arrived before. */
  serve(inner: RpcHandler): void {
    this.#serve(inner)
  }

  /** Requests received and not yet answered. */
  get count(): number {
    return this.#count
  }

  /** Makes every running and later request fail at once. */
  abandon(): void {
    this.#abandoned = true
    this.#reject(new Error('coordinated is shutting down; the request was abandoned'))
  }
}

/** Waits for `promise` at most `ms`; tells whether it settled (fulfilled or rejected) in time. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms))
  })
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ])
  } finally {
    clearTimeout(timer)
  }
}

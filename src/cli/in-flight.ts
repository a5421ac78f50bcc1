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
  /** How to fail each request being served or waiting for serve(). */
  readonly #running = new Set<(error: Error) => void>()
  #inner: RpcHandler | undefined
  readonly #ready: Promise<RpcHandler>
  #serve!: (inner: RpcHandler) => void

  constructor() {
    this.#ready = new Promise<RpcHandler>((resolve) => {
      this.#serve = resolve
    })
    this.handler = async (method, params, context) => {
      if (this.#abandoned) throw new Error('coordinated is shutting down')
      this.#count++
      // One abandon promise per request, dropped with it. Racing every request against one
      // shared promise that never settles left a reaction on it per race, each holding the
      // request's answer: the daemon kept every answer it ever sent.
      let abandon!: (error: Error) => void
      const abandoned = new Promise<never>((_, reject) => {
        abandon = reject
      })
      this.#running.add(abandon)
      try {
        const inner = this.#inner ?? (await Promise.race([this.#ready, abandoned]))
        return await Promise.race([inner(method, params, context), abandoned])
      } finally {
        this.#running.delete(abandon)
        this.#count--
      }
    }
  }

  /** Starts answering with `inner`, including the requests that arrived before. */
  serve(inner: RpcHandler): void {
    this.#inner = inner
    this.#serve(inner)
  }

  /** Requests received and not yet answered. */
  get count(): number {
    return this.#count
  }

  /** Makes every running and later request fail at once. */
  abandon(): void {
    this.#abandoned = true
    const error = new Error('coordinated is shutting down; the request was abandoned')
    for (const abandon of this.#running) abandon(error)
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

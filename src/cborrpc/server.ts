import { type AddressInfo, type Server, type Socket, createServer } from 'node:net'
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_BYTES } from './cbor-scan.js'
import { type ConnectionSettings, RpcConnection } from './connection.js'

/**
 * Serves one request. `params` are normalized DataValues; the returned value becomes `result`
 * and a thrown Error's message becomes `error.message`.
 */
export interface RpcHandler {
  (method: string, params: unknown[], context: { connectionId: number }): Promise<unknown>
}

/** Where the server reports what goes wrong; every level is optional. */
export interface RpcLogger {
  info?(message: string, fields?: Record<string, unknown>): void
  warn?(message: string, fields?: Record<string, unknown>): void
  error?(message: string, fields?: Record<string, unknown>): void
}

/** How and where a CborRpcServer listens. */
export interface CborRpcServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 5932, the port the Python client and go-coordinate use; 0 picks a free one. */
  readonly port?: number
  /** Largest message, in bytes, before the connection is dropped. Default 64 MiB. */
  readonly maxFrameBytes?: number
  /** Deepest nesting in a message. Default 256. */
  readonly maxDepth?: number
  /** Connections beyond this are refused as they arrive. Default: no limit. */
  readonly maxConnections?: number
  /** How long an ended connection waits for the client to close its side. Default 1000 ms. */
  readonly lingerMs?: number
  readonly logger?: RpcLogger
}

/** The default CBOR-RPC port. */
export const DEFAULT_CBORRPC_PORT = 5932

/**
 * A CBOR-RPC server: persistent TCP connections carrying tag-24 wrapped request and response
 * maps. It knows nothing of the methods; it hands each request to the handler.
 */
export class CborRpcServer {
  readonly #options: CborRpcServerOptions
  readonly #settings: ConnectionSettings
  readonly #connections = new Set<RpcConnection>()
  #server: Server | undefined
  #listening: Promise<unknown> | undefined
  #closing: Promise<void> | undefined
  #nextConnectionId = 1

  constructor(handler: RpcHandler, options: CborRpcServerOptions = {}) {
    this.#options = options
    this.#settings = {
      handler,
      logger: options.logger ?? {},
      limits: {
        maxBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
        maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
      },
      lingerMs: options.lingerMs ?? 1000,
    }
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.#connections.size
  }

  /** Starts listening; resolves with the address actually bound (useful with port 0). */
  listen(): Promise<{ host: string; port: number }> {
    if (this.#closing) return Promise.reject(new Error('CborRpcServer is closed'))
    if (this.#server) return Promise.reject(new Error('CborRpcServer is already listening'))
    // Half-open so that a client which shuts down its sending side still gets its answers.
    const server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket))
    this.#server = server
    if (this.#options.maxConnections !== undefined) server.maxConnections = this.#options.maxConnections
    server.on('drop', () => this.#log('warn', 'connection refused: too many connections'))
    const listening = new Promise<{ host: string; port: number }>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#options.port ?? DEFAULT_CBORRPC_PORT, this.#options.host ?? '127.0.0.1', () => {
        server.off('error', reject)
        server.on('error', (error) => this.#log('error', 'server error', error))
        const address = server.address() as AddressInfo
        this.#log('info', `listening on ${address.address}:${address.port}`)
        resolve({ host: address.address, port: address.port })
      })
    })
    this.#listening = listening.catch(() => undefined)
    return listening
  }

  /**
   * Stops accepting connections, lets every request already received finish and its answer be
   * written, then ends the connections. Safe to call more than once; later calls share the first.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #shutdown(): Promise<void> {
    await this.#listening
    const server = this.#server
    const stopped = new Promise<void>((resolve) => {
      if (server?.listening) server.close(() => resolve())
      else resolve()
    })
    const connections = [...this.#connections]
    for (const connection of connections) connection.drain()
    await Promise.all(connections.map((connection) => connection.finished))
    await stopped
    this.#log('info', 'closed')
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy()
      return
    }
    const connection = new RpcConnection(this.#nextConnectionId++, socket, this.#settings)
    this.#connections.add(connection)
    void connection.finished.then(() => this.#connections.delete(connection))
  }

  #log(level: 'info' | 'warn' | 'error', message: string, error?: unknown): void {
    try {
      this.#settings.logger[level]?.(`cborrpc: ${message}`, error === undefined ? {} : { error })
    } catch {
      // A failing logger must not take the server down with it.
    }
  }
}

import { type Server, type Socket, connect, createServer } from 'node:net'

/** A TCP proxy in front of a server that a test can take down and bring back on the same port. */
export interface TcpProxy {
  readonly port: number
  /** Stops accepting and cuts every open connection (as a stopped database server does). */
  down(): Promise<void>
  /** Accepts connections again on the same port. */
  up(): Promise<void>
  close(): Promise<void>
}

/** Starts a proxy on a free port to `target` (host and port). */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(target)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  await listen(0)
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const down = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const socket of sockets) socket.destroy()
    await closed
  }
  return { port, down, up: () => listen(port), close: () => (server.listening ? down() : Promise.resolve()) }
}

/** A proxy in front of the database at `url`, and the URL that goes through it. */
export async function proxyDatabase(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(url)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
  const proxied = new URL(url)
  proxied.host = `127.0.0.1:${proxy.port}`
  return { proxy, url: proxied.toString() }
}

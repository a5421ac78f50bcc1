import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

// A throwaway PostgreSQL cluster for a benchmark that must restart its server: the machine's
// shared server (others run tests on it) is never touched. initdb refuses to run as root, so
// under root every server command runs as the `postgres` user through runuser.

const run = promisify(execFile)

/** A private PostgreSQL cluster in a temporary directory, on a free port of 127.0.0.1. */
export class PrivateCluster {
  readonly port: number
  readonly #bin: string
  readonly #dir: string
  readonly #data: string
  readonly #asUser: string | undefined
  #stopped = false

  private constructor(bin: string, dir: string, port: number, asUser: string | undefined) {
    this.#bin = bin
    this.#dir = dir
    this.#data = join(dir, 'data')
    this.port = port
    this.#asUser = asUser
  }

  /** initdb into a fresh temporary directory and start the server; removes everything if that fails. */
  static async start(): Promise<PrivateCluster> {
    const bin = await findBinaries()
    const dir = mkdtempSync(join(tmpdir(), 'coordinate-private-pg-'))
    const asUser = process.getuid?.() === 0 ? 'postgres' : undefined
    if (asUser) {
      const [uid, gid] = await Promise.all([run('id', ['-u', asUser]), run('id', ['-g', asUser])])
      chownSync(dir, Number(uid.stdout), Number(gid.stdout))
    }
    const cluster = new PrivateCluster(bin, dir, await freePort(), asUser)
    try {
      await cluster.#pg('initdb', ['-D', cluster.#data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'])
      // The socket goes in our directory, so nothing is written where the shared server keeps its own.
      const serverOptions = `-p ${cluster.port} -c listen_addresses=127.0.0.1 -k ${dir}`
      await cluster.#pg('pg_ctl', ['start', '-D', cluster.#data, '-l', join(dir, 'server.log'), '-w', '-o', serverOptions])
    } catch (error) {
      await cluster.stop()
      throw error
    }
    return cluster
  }

  /** The URL of a database of this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`
  }

  /** Creates a database and returns its URL. */
  async createDatabase(name: string): Promise<string> {
    const admin = new pg.Client({ connectionString: this.url() })
    await admin.connect()
    try {
      await admin.query(`CREATE DATABASE ${name}`)
    } finally {
      await admin.end()
    }
    return this.url(name)
  }

  /** The server's version string (SHOW server_version). */
  async version(): Promise<string> {
    const client = new pg.Client({ connectionString: this.url() })
    await client.connect()
    try {
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
      return rows[0]?.server_version ?? 'unknown'
    } finally {
      await client.end()
    }
  }

  /**
   * `pg_ctl restart -m fast`: a real restart (backends terminated, shutdown checkpoint, new
   * postmaster, crash-free start-up); resolves once the server accepts connections again.
   * Returns the milliseconds it took.
   */
  async restart(): Promise<number> {
    const started = performance.now()
    await this.#pg('pg_ctl', ['restart', '-D', this.#data, '-m', 'fast', '-w', '-l', join(this.#dir, 'server.log')])
    return performance.now() - started
  }

  /** Stops the server at once and removes its directory; safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    try {
      if (existsSync(join(this.#data, 'postmaster.pid'))) await this.#pg('pg_ctl', ['stop', '-D', this.#data, '-m', 'immediate', '-w'])
    } finally {
      rmSync(this.#dir, { recursive: true, force: true })
    }
  }

  async #pg(program: string, args: string[]): Promise<void> {
    const path = join(this.#bin, program)
    const [command, commandArgs] = this.#asUser ? ['runuser', ['-u', this.#asUser, '--', path, ...args]] : [path, args]
    // pg_ctl's server inherits our stdio if we let it: give it none, so our exit is not held up.
    await run(command, commandArgs, { cwd: this.#dir })
  }
}

/** The directory with initdb and pg_ctl: `pg_config --bindir`, else the newest /usr/lib/postgresql/N/bin. */
async function findBinaries(): Promise<string> {
  try {
    const { stdout } = await run('pg_config', ['--bindir'])
    const bin = stdout.trim()
    if (existsSync(join(bin, 'initdb'))) return bin
  } catch {
    // No pg_config on the PATH; Debian and Ubuntu keep the server binaries by major version.
  }
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : []
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  if (newest === undefined) throw new Error('no PostgreSQL server binaries found (initdb): install the server package or put pg_config on the PATH')
  return join(root, newest, 'bin')
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { appendFileSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// The soak's daemon: coordinated as its own process, with its HTTP API on a free port so that the
// soak can read the daemon's memory split (heap, external) and the cache's size from /metrics.

/** The daemon's memory and cache size at one moment, from its /metrics. */
export interface DaemonSample {
  rssMb: number
  heapUsedMb: number
  heapTotalMb: number
  externalMb: number
  /** Work units the daemon's cache holds (coordinate_cache_tracked_entries). */
  cachedUnits: number
}

/** coordinated running as a child process. */
export class SoakDaemon {
  /** The daemon's log lines about the database (lost, recovered, resync), kept for the report. */
  readonly databaseLog: string[] = []
  readonly child: ChildProcess
  readonly port: number
  readonly #httpPort: number

  private constructor(child: ChildProcess, port: number, httpPort: number, databaseLog: string[]) {
    this.child = child
    this.port = port
    this.#httpPort = httpPort
    this.databaseLog = databaseLog
  }

  /**
   * Starts coordinated on `url` and resolves once it serves CBOR-RPC and HTTP. With `heapSnapshotDir`,
   * SIGUSR2 makes it write a heap snapshot there (see heapSnapshot()).
   */
  static async start(url: string, options: { heapSnapshotDir?: string; args?: string[] } = {}): Promise<SoakDaemon> {
    const cli = fileURLToPath(new URL('../src/cli/coordinated.js', import.meta.url))
    const node = [...(options.heapSnapshotDir ? ['--heapsnapshot-signal=SIGUSR2'] : []), ...(process.env.SOAK_NODE_ARGS?.split(' ').filter(Boolean) ?? [])]
    const args = [...node, cli, '--database-url', url, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--log-level', 'info', '--log-format', 'json', ...(options.args ?? [])]
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], ...(options.heapSnapshotDir ? { cwd: options.heapSnapshotDir } : {}) })
    const databaseLog: string[] = []
    const ports = new Promise<[number, number]>((resolve, reject) => {
      let port: number | undefined
      let httpPort: number | undefined
      let buffered = ''
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        let newline
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline)
          buffered = buffered.slice(newline + 1)
          if (/database connection|change feed/.test(line)) databaseLog.push(line)
          if (!line.startsWith('{') && process.env.SOAK_RAW_LOG) appendFileSync(process.env.SOAK_RAW_LOG, `${Math.round(performance.now())} ${line}\n`)
          port ??= match(/"address":"[^"]*:(\d+)"/, line)
          httpPort ??= match(/"http":"http:\/\/[^"]*:(\d+)/, line)
          if (port !== undefined && httpPort !== undefined) resolve([port, httpPort])
        }
      })
      child.once('exit', (code) => reject(new Error(`coordinated exited (${String(code)}) before listening`)))
    })
    const [port, httpPort] = await ports
    return new SoakDaemon(child, port, httpPort, databaseLog)
  }

  /** The daemon's resident set from /proc, in MB: cheap enough to read every second. */
  rssMb(): number {
    const status = readFileSync(`/proc/${this.child.pid!}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  }

  /** Memory split and cache size from the daemon's /metrics. */
  async sample(): Promise<DaemonSample> {
    const text = await (await fetch(`http://127.0.0.1:${this.#httpPort}/metrics`)).text()
    const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? Number.NaN)
    const mb = (pattern: RegExp): number => value(pattern) / 2 ** 20
    return {
      rssMb: mb(/^process_resident_memory_bytes (\S+)/m),
      heapUsedMb: mb(/^nodejs_heap_size_used_bytes (\S+)/m),
      heapTotalMb: mb(/^nodejs_heap_size_total_bytes (\S+)/m),
      externalMb: mb(/^nodejs_external_memory_bytes (\S+)/m),
      cachedUnits: value(/^coordinate_cache_tracked_entries\{level="work_unit"\} (\S+)/m),
    }
  }

  /** Asks for a heap snapshot (written to heapSnapshotDir; only when started with one). */
  heapSnapshot(): void {
    this.child.kill('SIGUSR2')
  }

  /** SIGTERM, and wait for the exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = once(this.child, 'exit')
    this.child.kill('SIGTERM')
    await exited
  }
}

function match(pattern: RegExp, line: string): number | undefined {
  const found = pattern.exec(line)
  return found ? Number(found[1]) : undefined
}

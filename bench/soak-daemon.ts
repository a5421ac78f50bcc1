import { appendFileSync } from 'node:fs'
import { type DaemonProcess, processRssMb, startDaemonProcess } from './daemon-process.js'

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

/** coordinated running as a child process (started by daemon-process), with what the soak reads of it. */
export class SoakDaemon {
  /** The daemon's log lines about the database (lost, recovered, resync), kept for the report. */
  readonly databaseLog: string[]
  /** Its CBOR-RPC port. */
  readonly port: number
  readonly #process: DaemonProcess

  private constructor(daemon: DaemonProcess, databaseLog: string[]) {
    this.#process = daemon
    this.port = daemon.rpcPort
    this.databaseLog = databaseLog
  }

  /**
   * Starts coordinated on `url` and resolves once it serves CBOR-RPC and HTTP. With `heapSnapshotDir`,
   * SIGUSR2 makes it write a heap snapshot there (see heapSnapshot()).
   */
  static async start(url: string, options: { heapSnapshotDir?: string; args?: string[] } = {}): Promise<SoakDaemon> {
    const nodeArgs = [...(options.heapSnapshotDir ? ['--heapsnapshot-signal=SIGUSR2'] : []), ...(process.env.SOAK_NODE_ARGS?.split(' ').filter(Boolean) ?? [])]
    const databaseLog: string[] = []
    const rawLog = process.env.SOAK_RAW_LOG
    const onLine = (line: string): void => {
      if (/database connection|change feed/.test(line)) databaseLog.push(line)
      if (!line.startsWith('{') && rawLog) appendFileSync(rawLog, `${Math.round(performance.now())} ${line}\n`)
    }
    const daemon = await startDaemonProcess(url, { nodeArgs, onLine, ...(options.args ? { args: options.args } : {}), ...(options.heapSnapshotDir ? { cwd: options.heapSnapshotDir } : {}) })
    return new SoakDaemon(daemon, databaseLog)
  }

  /** The daemon's resident set from /proc, in MB: cheap enough to read every second. */
  rssMb(): number {
    return processRssMb(this.#process.pid) ?? 0
  }

  /** Memory split and cache size from the daemon's /metrics. */
  async sample(): Promise<DaemonSample> {
    const text = await (await fetch(`${this.#process.url}/metrics`)).text()
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
    if (this.#process.pid !== undefined) process.kill(this.#process.pid, 'SIGUSR2')
  }

  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void> {
    return this.#process.stop()
  }
}

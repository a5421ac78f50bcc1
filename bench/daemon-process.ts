import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** A coordinated process, for benchmarks that must measure it from outside. */
export interface DaemonProcess {
  /** `http://127.0.0.1:port` of its HTTP API (empty when started without it). */
  url: string
  /** Its CBOR-RPC port. */
  rpcPort: number
  /** Its process id, for what a benchmark reads or signals itself (/proc, SIGUSR2). */
  pid: number | undefined
  /** CPU time (user + system) it has used so far, in ms; undefined off Linux. */
  cpuMs(): number | undefined
  /** SIGTERM, then wait for it to exit. */
  stop(): Promise<void>
}

/** How to start the daemon process. */
export interface DaemonProcessOptions {
  /** Serve the HTTP API too (default true). */
  http?: boolean
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[]
  /** Another build's coordinated.js, to compare with (default: this build's). */
  script?: string
  /** More coordinated flags, after the ones this module sets (e.g. --cache-units). */
  args?: string[]
  /** Its working directory (where a heap snapshot is written); default this process's. */
  cwd?: string
  /** Sees every line it writes to stdout, for as long as it runs (the soak keeps some for its report). */
  onLine?: (line: string) => void
}

// Built next to this file: dist/bench/ → dist/src/cli/coordinated.js.
const COORDINATED = fileURLToPath(new URL('../src/cli/coordinated.js', import.meta.url))
// /proc/<pid>/stat counts CPU in clock ticks, 100 a second on Linux.
const MS_PER_TICK = 10

/** Starts `coordinated` on a database with its CBOR-RPC (and HTTP) ports chosen by the system. */
export async function startDaemonProcess(databaseUrl: string, options: DaemonProcessOptions = {}): Promise<DaemonProcess> {
  const http = options.http ?? true
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.script ?? COORDINATED, '--database-url', databaseUrl, '--listen', '127.0.0.1:0', '--http', http ? '127.0.0.1:0' : 'off', '--log-format', 'json', '--log-level', 'info', ...(options.args ?? [])],
    { stdio: ['ignore', 'pipe', 'inherit'], ...(options.cwd === undefined ? {} : { cwd: options.cwd }) },
  )
  const { url, rpcPort } = await new Promise<{ url: string; rpcPort: number }>((resolve, reject) => {
    let rpcPort: number | undefined
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      options.onLine?.(line)
      try {
        const entry = JSON.parse(line) as { msg?: string; http?: string; address?: string }
        if (entry.msg === 'coordinated started' && entry.address) rpcPort = Number(entry.address.split(':').pop())
        if (entry.msg === 'HTTP API listening' && entry.http && rpcPort !== undefined) resolve({ url: entry.http, rpcPort })
        if (!http && rpcPort !== undefined) resolve({ url: '', rpcPort })
      } catch {
        // Not a log line.
      }
    })
    child.once('exit', (code) => reject(new Error(`coordinated exited with ${code} before listening`)))
  })
  child.stdout!.resume()
  return { url, rpcPort, pid: child.pid, cpuMs: () => processCpuMs(child.pid), stop: () => stopChild(child) }
}

/** A process's user + system CPU from /proc, in ms; undefined where there is no /proc. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): utime is the 12th, stime the 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK
  } catch {
    return undefined
  }
}

/** A process's resident set from /proc, in MB; undefined where there is no /proc. */
export function processRssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? undefined : Number(kb) / 1024
  } catch {
    return undefined
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

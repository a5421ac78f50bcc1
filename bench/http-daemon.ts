import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** A coordinated process serving HTTP, for benchmarks that must measure it from outside. */
export interface DaemonProcess {
  /** `http://127.0.0.1:port` of its HTTP API. */
  url: string
  /** SIGTERM, then wait for it to exit. */
  stop(): Promise<void>
}

// Built next to this file: dist/bench/ → dist/src/cli/coordinated.js.
const COORDINATED = fileURLToPath(new URL('../src/cli/coordinated.js', import.meta.url))

/** Starts `coordinated` on a database with its CBOR-RPC and HTTP ports chosen by the system. */
export async function startDaemonProcess(databaseUrl: string): Promise<DaemonProcess> {
  const child = spawn(
    process.execPath,
    [COORDINATED, '--database-url', databaseUrl, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--log-format', 'json', '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; http?: string }
        if (entry.msg === 'HTTP API listening' && entry.http) resolve(entry.http)
      } catch {
        // Not a log line.
      }
    })
    child.once('exit', (code) => reject(new Error(`coordinated exited with ${code} before listening`)))
  })
  child.stdout!.resume()
  return { url, stop: () => stopChild(child) }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

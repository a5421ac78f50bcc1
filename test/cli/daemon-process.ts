import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The checkout's root, where `npm start` runs. */
export const root = fileURLToPath(new URL('../..', import.meta.url))

/** The built command, as `npm start` and the installed package run it. */
export const coordinatedJs = fileURLToPath(new URL('../../dist/src/cli/coordinated.js', import.meta.url))

/** Compiles dist/ if a source changed since the last build (the same step `npm start` takes). */
export function buildIfStale(): void {
  const build = spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: root, encoding: 'utf8' })
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`)
}

/** A process being watched: its output so far, and its end. */
export interface Watched {
  child: ChildProcess
  /** JSON log lines parsed from stdout (other lines are skipped). */
  logs: Record<string, unknown>[]
  stderr: () => string
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | NodeJS.Signals>
  /** Resolves with the first log line the predicate accepts. */
  logLine: (accept: (line: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>
}

/** Starts a command and collects its JSON log lines and stderr. */
export function watch(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Watched {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const logs: Record<string, unknown>[] = []
  const waiters: { accept: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = []
  let pending = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const text of lines) {
      if (!text.startsWith('{')) continue
      const line = JSON.parse(text) as Record<string, unknown>
      logs.push(line)
      for (const waiter of waiters.filter((w) => w.accept(line))) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(line)
      }
    }
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const logLine = (accept: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    const seen = logs.find(accept)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      waiters.push({ accept, resolve })
      void exited.then((code) => reject(new Error(`exited with ${code} before the log line; stderr: ${stderr}`)))
    })
  }
  return { child, logs, stderr: () => stderr, exited, logLine }
}

/** Tells whether a process id is still running. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

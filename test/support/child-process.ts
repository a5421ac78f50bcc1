import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const VITE_NODE = fileURLToPath(new URL('../../node_modules/vite-node/vite-node.mjs', import.meta.url))

/** A TypeScript script run in a process of its own, talking one JSON object per stdout line. */
export interface TsChild {
  readonly process: ChildProcess
  /** Resolves with the next message that satisfies `accept` (rejects if the child exits first). */
  next<T>(accept?: (message: T) => boolean): Promise<T>
  /** Resolves with the exit code (or signal name) once the child has exited. */
  readonly exited: Promise<number | string>
  /** What the child wrote to stderr so far (for failure messages). */
  stderr(): string
  /** Sends one JSON line to the child's stdin. */
  send(message: unknown): void
}

/** Starts `script` (a path relative to test/support/children) under vite-node with `args`. */
export function spawnTsChild(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): TsChild {
  const path = fileURLToPath(new URL(`./children/${script}`, import.meta.url))
  const child = spawn(process.execPath, [VITE_NODE, path, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  const messages: unknown[] = []
  const waiters: { accept: (m: unknown) => boolean; resolve: (m: unknown) => void; reject: (e: Error) => void }[] = []
  let errors = ''
  let exitCode: number | string | undefined
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()))
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message: unknown
    try {
      message = JSON.parse(line)
    } catch {
      return // vite-node or a library printed something that is not for us
    }
    const index = waiters.findIndex((w) => w.accept(message))
    if (index >= 0) waiters.splice(index, 1)[0]!.resolve(message)
    else messages.push(message)
  })
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'unknown'
      for (const w of waiters.splice(0)) w.reject(new Error(`child ${script} exited (${exitCode}) first: ${errors}`))
      resolve(exitCode)
    })
  })
  return {
    process: child,
    exited,
    stderr: () => errors,
    send: (message) => child.stdin.write(`${JSON.stringify(message)}\n`),
    next<T>(accept: (message: T) => boolean = () => true): Promise<T> {
      const index = messages.findIndex((m) => accept(m as T))
      if (index >= 0) return Promise.resolve(messages.splice(index, 1)[0] as T)
      if (exitCode !== undefined) return Promise.reject(new Error(`child ${script} exited (${exitCode}): ${errors}`))
      return new Promise<T>((resolve, reject) => {
        waiters.push({ accept: (m) => accept(m as T), resolve: (m) => resolve(m as T), reject })
      })
    },
  }
}

import { expect } from 'vitest'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** A child process running a TypeScript file of this repository through vite-node. */
export interface Child {
  /** Resolves with the exit code (or the signal's name) and everything printed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
  /** Resolves when stdout has printed `text`. */
  printed(text: string): Promise<void>
  kill(signal: NodeJS.Signals): void
}

/** Starts `node vite-node <script> -- args…` from the repository root. */
export function runTs(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [`${root}node_modules/vite-node/vite-node.mjs`, script, '--', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const watchers: { text: string; resolve: () => void }[] = []
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    for (const w of watchers.splice(0)) {
      if (stdout.includes(w.text)) w.resolve()
      else watchers.push(w)
    }
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
  return {
    exited,
    printed: (text) => (stdout.includes(text) ? Promise.resolve() : new Promise((resolve) => watchers.push({ text, resolve }))),
    kill: (signal) => child.kill(signal),
  }
}

/** Sends SIGTERM to a worker process and checks it stops cleanly: exit 0, "stopped" logged, the worker deactivated. */
export async function expectGracefulStop(child: Child, worker: { active(): Promise<boolean> }): Promise<void> {
  child.kill('SIGTERM')
  const { code, stdout } = await child.exited
  expect(code).toBe(0)
  expect(stdout).toMatch(/"msg":"stopped"/)
  expect(await worker.active()).toBe(false)
}

// Compiles to dist/ only when a source changed since the last build, so that `npm start` and
// `npm run bench` cost a few file stats, not a full `tsc`, when nothing changed. A build is
// stale when any input is newer than the stamp or the set of inputs differs from the one the
// stamp lists (a deleted or renamed file; then dist/ is emptied first, so that no output of a
// file that is gone is left to be run or packed). Outside a checkout (an installed package, which has
// dist/ but no sources) it does nothing.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const stampPath = join(root, 'dist', '.build-stamp')
const inputDirs = ['src', 'migrations', 'bench', 'ui']
const inputFiles = ['tsconfig.json', 'tsconfig.build.json', 'package.json']

function listInputs() {
  const files = inputFiles.map((file) => join(root, file)).filter((file) => existsSync(file))
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.(ts|tsx|css|html)$/.test(entry.name)) files.push(path)
    }
  }
  for (const dir of inputDirs) if (existsSync(join(root, dir))) walk(join(root, dir))
  return files.map((file) => relative(root, file)).sort()
}

/** 'current', 'changed' (an input is newer than the stamp) or 'renamed' (the set of inputs differs). */
function staleness(inputs) {
  if (!existsSync(stampPath) || readFileSync(stampPath, 'utf8') !== inputs.join('\n')) return 'renamed'
  const stamp = statSync(stampPath).mtimeMs
  return inputs.some((file) => statSync(join(root, file)).mtimeMs > stamp) ? 'changed' : 'current'
}

// Several processes may ask at once (test files run in parallel): one builds, the others
// wait for it and then find the build current. A lock older than any build is left over from
// a killed one.
const lockPath = join(root, 'node_modules', '.cache', 'coordinate-ts-build.lock')
function lock() {
  mkdirSync(dirname(lockPath), { recursive: true })
  for (;;) {
    try {
      mkdirSync(lockPath)
      return
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
      if (Date.now() - statSync(lockPath, { throwIfNoEntry: false })?.mtimeMs > 300_000) rmSync(lockPath, { recursive: true, force: true })
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100)
    }
  }
}

if (!existsSync(join(root, 'src'))) process.exit(0)
const inputs = listInputs()
if (staleness(inputs) === 'current') process.exit(0)
lock()
process.on('exit', () => rmSync(lockPath, { recursive: true, force: true }))
const state = staleness(inputs)
if (state === 'current') process.exit(0)
if (state === 'renamed') rmSync(join(root, 'dist'), { recursive: true, force: true })
const startedAt = new Date()
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const build = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)
// The dashboard's front end, served from dist/ui by the HTTP server.
const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js')
const ui = spawnSync(process.execPath, [vite, 'build', '--config', join(root, 'ui', 'vite.config.ts')], { stdio: 'inherit' })
if (ui.status !== 0) process.exit(ui.status ?? 1)
mkdirSync(join(root, 'dist'), { recursive: true })
// Dated when the build began, so an input saved during it is newer and triggers the next one.
writeFileSync(stampPath, inputs.join('\n'))
utimesSync(stampPath, startedAt, startedAt)

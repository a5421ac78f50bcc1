// Compiles to dist/ only when a source changed since the last build, so that `npm start` and
// `npm run bench` cost a few file stats, not a full `tsc`, when nothing changed. A build is
// stale when any input is newer than the stamp or the set of inputs differs from the one the
// stamp lists (a deleted or renamed file). Outside a checkout (an installed package, which has
// dist/ but no sources) it does nothing.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const stampPath = join(root, 'dist', '.build-stamp')
const inputDirs = ['src', 'migrations', 'bench']
const inputFiles = ['tsconfig.json', 'tsconfig.build.json', 'package.json']

function listInputs() {
  const files = inputFiles.map((file) => join(root, file)).filter((file) => existsSync(file))
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) files.push(path)
    }
  }
  for (const dir of inputDirs) if (existsSync(join(root, dir))) walk(join(root, dir))
  return files.map((file) => relative(root, file)).sort()
}

function isStale(inputs) {
  if (!existsSync(stampPath)) return true
  const stamp = statSync(stampPath).mtimeMs
  if (readFileSync(stampPath, 'utf8') !== inputs.join('\n')) return true
  return inputs.some((file) => statSync(join(root, file)).mtimeMs > stamp)
}

if (!existsSync(join(root, 'src'))) process.exit(0)
const inputs = listInputs()
if (!isStale(inputs)) process.exit(0)
const startedAt = new Date()
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const build = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)
mkdirSync(join(root, 'dist'), { recursive: true })
// Dated when the build began, so an input saved during it is newer and triggers the next one.
writeFileSync(stampPath, inputs.join('\n'))
utimesSync(stampPath, startedAt, startedAt)

import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync } from 'node:fs'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildIfStale, root } from '../cli/daemon-process.js'

// The package as a user gets it: `npm pack`, then an install of the tarball into an empty
// folder, as the Dockerfile does. The tarball's dependencies are copied in from this checkout's
// node_modules first (the production ones only, as `npm ls` lists them), so npm finds them
// satisfied; it prefers its cache and asks the registry only for what a range still lacks.
// Asynchronous, so that minutes of npm on a busy machine do not block the test worker.
const run = promisify(execFile)
const scratch = await mkdtemp(join(tmpdir(), 'coordinate-pack-'))
const app = join(scratch, 'app')
let tarball = ''
afterAll(() => rm(scratch, { recursive: true, force: true }))

beforeAll(async () => {
  await buildIfStale()
  const packed = JSON.parse((await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root })).stdout) as { filename: string }[]
  tarball = join(scratch, packed[0]!.filename)
  await copyProductionDependencies(app)
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app })
}, 300_000)

async function copyProductionDependencies(target: string): Promise<void> {
  const listed = (await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root })).stdout
  const paths = listed.split('\n').filter((path) => path !== '' && path !== root.replace(/\/$/, ''))
  // Outermost first, so a nested copy lands inside its parent's.
  for (const path of paths.sort((a, b) => a.length - b.length)) {
    const destination = join(target, relative(root, path))
    await cp(path, destination, { recursive: true, force: false, errorOnExist: false })
  }
}

function inApp(command: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: app, encoding: 'utf8' })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('the packed package', () => {
  it('holds the compiled code, its types, the license and source maps that carry their sources', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n')
    expect(files).toEqual(expect.arrayContaining(['package/LICENSE', 'package/README.md', 'package/dist/src/index.js', 'package/dist/src/index.d.ts', 'package/dist/src/cli/coordinated.js']))
    expect(files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([])
    expect(files.filter((file) => file.startsWith('package/test/') || file.startsWith('package/dist/bench/'))).toEqual([])
    const map = JSON.parse(readFileSync(join(app, 'node_modules/coordinate-ts/dist/src/index.js.map'), 'utf8')) as { sourcesContent?: string[] }
    expect(map.sourcesContent?.[0]).toContain('export')
  })

  it('is imported by name from the folder it was installed in', () => {
    const script = "const c = await import('coordinate-ts'); console.log([typeof c.openCoordinate, typeof c.runDaemon, typeof c.cacheCoordinate].join())"
    const result = inApp(process.execPath, ['--input-type=module', '-e', script])
    expect(result.stderr).toBe('')
    expect(result.stdout.trim()).toBe('function,function,function')
  })

  it('can be required where Node loads ES modules with require()', () => {
    const result = inApp(process.execPath, ['-e', "console.log(typeof require('coordinate-ts').openCoordinate)"])
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
    const requireEsm = major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19)
    if (requireEsm) expect(result.stdout.trim()).toBe('function')
    else expect(result.stderr).toContain('ERR_REQUIRE_ESM')
  })

  it('runs `npx --no-install coordinated --help`', () => {
    const result = inApp('npx', ['--no-install', 'coordinated', '--help'])
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^Usage: coordinated \[options\]/)
  })
})

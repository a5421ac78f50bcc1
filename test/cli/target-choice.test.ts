import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type Target, resolveSettings } from '../../src/cli/client/settings.js'
import { parseWorkerCommandLine } from '../../src/cli/worker-command-line.js'

// coordinate and coordinate-worker once chose their target each its own way and drifted apart
// (an empty COORDINATE_HTTP_TOKEN was a token for one, no token for the other). These cases run
// both on the same flags and environment, so a drift in either fails here.
describe('coordinate and coordinate-worker choose the same target', async () => {
  const home = await mkdtemp(join(tmpdir(), 'target-choice-'))
  // No config file for coordinate: what it picks comes from the flags and the environment alone.
  const noConfig = { XDG_CONFIG_HOME: join(home, 'none') }
  afterAll(() => rm(home, { recursive: true, force: true }))

  const viaWorker = (argv: string[], env: NodeJS.ProcessEnv): Target => {
    const parsed = parseWorkerCommandLine(['--module', 't.js', ...argv], env)
    if (parsed.help) throw new Error('help')
    return parsed.options.target
  }
  const viaCoordinate = async (argv: string[], env: NodeJS.ProcessEnv): Promise<Target> => {
    const flags = { http: flag(argv, '--http'), databaseUrl: flag(argv, '--database-url'), token: flag(argv, '--token') }
    return (await resolveSettings(flags, { ...noConfig, ...env })).target
  }

  const db = 'postgres://env/db'
  const api = 'http://env:5980'
  it.each<[string, string[], NodeJS.ProcessEnv, Target]>([
    ['DATABASE_URL', [], { DATABASE_URL: db }, { kind: 'database', url: db }],
    ['COORDINATE_HTTP before DATABASE_URL', [], { COORDINATE_HTTP: api, DATABASE_URL: db }, { kind: 'http', url: api }],
    ['an empty COORDINATE_HTTP as unset', [], { COORDINATE_HTTP: '', DATABASE_URL: db }, { kind: 'database', url: db }],
    ['the token from COORDINATE_HTTP_TOKEN', [], { COORDINATE_HTTP: api, COORDINATE_HTTP_TOKEN: 't' }, { kind: 'http', url: api, token: 't' }],
    ['an empty COORDINATE_HTTP_TOKEN as no token', [], { COORDINATE_HTTP: api, COORDINATE_HTTP_TOKEN: '' }, { kind: 'http', url: api }],
    ['an empty COORDINATE_HTTP_TOKEN as no token with --http', ['--http', api], { COORDINATE_HTTP_TOKEN: '' }, { kind: 'http', url: api }],
    ['--token before COORDINATE_HTTP_TOKEN', ['--http', api, '--token', 'f'], { COORDINATE_HTTP_TOKEN: 'e' }, { kind: 'http', url: api, token: 'f' }],
    ['--database-url before the environment', ['--database-url', 'postgres://flag/db'], { COORDINATE_HTTP: api }, { kind: 'database', url: 'postgres://flag/db' }],
  ])('%s', async (_, argv, env, expected) => {
    expect(viaWorker(argv, env)).toEqual(expected)
    expect(await viaCoordinate(argv, env)).toEqual(expected)
  })

  it('coordinate: an empty COORDINATE_ADDRESS is unset too, and an empty COORDINATE_HTTP_TOKEN leaves the config file\'s token', async () => {
    expect(await viaCoordinate([], { COORDINATE_ADDRESS: '', DATABASE_URL: db })).toEqual({ kind: 'database', url: db })
    const config = join(home, 'coordinate.yaml')
    await writeFile(config, 'coordinate:\n  http: http://file:5980\n  token: from-file\n')
    const settings = await resolveSettings({}, { COORDINATE_CONFIG: config, COORDINATE_HTTP_TOKEN: '' })
    expect(settings).toEqual({ target: { kind: 'http', url: 'http://file:5980', token: 'from-file' }, namespace: '', source: 'the config file' })
  })

  it('coordinate: an empty COORDINATE_CONFIG is unset, so the default config file is read', async () => {
    await writeFile(join(home, 'coordinate.yaml'), 'coordinate:\n  http: http://default:5980\n')
    const settings = await resolveSettings({}, { COORDINATE_CONFIG: '', XDG_CONFIG_HOME: home })
    expect(settings.target).toEqual({ kind: 'http', url: 'http://default:5980' })
  })

  it('coordinate-worker: COORDINATE_ADDRESS is not its to use', () => {
    expect(viaWorker([], { COORDINATE_ADDRESS: '127.0.0.1:5932', DATABASE_URL: db })).toEqual({ kind: 'database', url: db })
  })
})

function flag(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(name)
  return at < 0 ? undefined : argv[at + 1]
}

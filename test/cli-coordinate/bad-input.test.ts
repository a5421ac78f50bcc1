import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from './support/run-cli.js'
import { openCliFixture } from './support/targets.js'

// Bad input of every kind: a clear message, the right exit status, and nothing changed.
const fixture = await openCliFixture()
const daemon = ['--address', `127.0.0.1:${fixture.daemon.address.port}`]

async function file(name: string, text: string): Promise<string> {
  const path = join(fixture.scratch, name)
  await writeFile(path, text)
  return path
}

describe.each(fixture.targets)('bad input over $name', (target) => {
  const cli = (...args: string[]) => runCli([...target.args, ...args])
  const spec = `bad-${target.args[0]!.replace(/\W/g, '')}`

  it('a malformed JSON line names its line number and loads nothing, not even the spec', async () => {
    const specFile = await file(`${spec}.yaml`, `name: ${spec}\n`)
    const units = await file(`${spec}-broken.jsonl`, '{"a": {}}\n{"b": {}}\n\n{"c": {oops}\n{"d": {}}\n')
    const load = await cli('load', '-w', specFile, '-u', units)
    expect(load.code).toBe(1)
    expect(load.stdout).toBe('')
    expect(load.stderr).toMatch(new RegExp(`^coordinate: .*${spec}-broken\\.jsonl:4: not valid JSON: .*; nothing was loaded\\n$`))
    expect((await cli('work_specs')).stdout).toBe('')
  })

  it('a line of the wrong shape is refused the same way', async () => {
    const specFile = join(fixture.scratch, `${spec}.yaml`)
    for (const [line, reason] of [
      ['["a", {}]', 'expected an object {"key": {data}}, not a list'],
      ['{"a": 5}', 'the data of "a" must be an object, not a number'],
      ['"just text"', 'expected an object {"key": {data}}, not a string'],
    ] as const) {
      const load = await cli('load', '-w', specFile, '-u', await file(`${spec}-shape.jsonl`, `{"ok": {}}\n${line}\n`))
      expect(load.code).toBe(1)
      expect(load.stderr).toContain(`${spec}-shape.jsonl:2: ${reason}; nothing was loaded`)
    }
    expect((await cli('work_specs')).stdout).toBe('')
  })

  it('--continue-on-error skips bad lines, reports each, and loads the rest', async () => {
    const specFile = join(fixture.scratch, `${spec}.yaml`)
    const units = join(fixture.scratch, `${spec}-broken.jsonl`)
    const load = await cli('load', '-w', specFile, '-u', units, '--continue-on-error', '--json')
    expect(load.code).toBe(0)
    expect(load.stderr).toMatch(/^skipping .*:4: not valid JSON/)
    expect(JSON.parse(load.stdout)).toMatchObject({ work_spec: spec, units: 3, lines: 5, skipped_lines: [4] })
    expect((await cli('work_units', '-W', spec)).stdout).toBe('a\nb\nd\n')
  })

  it('missing files are usage errors naming the file', async () => {
    const specFile = join(fixture.scratch, `${spec}.yaml`)
    const noSpec = await cli('load', '-w', join(fixture.scratch, 'nope.yaml'), '-u', '-')
    expect(noSpec.code).toBe(2)
    expect(noSpec.stderr).toContain(`work spec file ${join(fixture.scratch, 'nope.yaml')} does not exist`)
    const noUnits = await cli('load', '-w', specFile, '-u', join(fixture.scratch, 'nope.jsonl'))
    expect(noUnits.code).toBe(2)
    expect(noUnits.stderr).toContain(`work unit file ${join(fixture.scratch, 'nope.jsonl')} does not exist`)
    const noConfig = await cli('-c', join(fixture.scratch, 'nope-config.yaml'), 'summary')
    expect(noConfig.code).toBe(2)
    expect(noConfig.stderr).toContain('nope-config.yaml does not exist')
  })

  it('malformed YAML in a work spec file fails with the parser\'s place', async () => {
    const load = await cli('load', '-w', await file('broken.yaml', 'name: [unclosed\nfoo: bar\n'), '--no-work')
    expect(load.code).toBe(1)
    expect(load.stderr).toMatch(/broken\.yaml: .*line \d+/)
    const nameless = await cli('load', '-w', await file('nameless.yaml', 'min_gb: 1\n'), '--no-work')
    expect(nameless.code).toBe(2)
    expect(nameless.stderr).toContain('the work spec has no name')
  })

  it('an unknown work spec fails every command that names one', async () => {
    for (const args of [
      ['status', '-W', 'ghost'],
      ['work_spec', '-W', 'ghost'],
      ['work_units', '-W', 'ghost'],
      ['work_unit', '-W', 'ghost', 'k'],
      ['retry', '-W', 'ghost', '-a'],
      ['clear', '-W', 'ghost'],
      ['pause', 'ghost'],
      ['metrics', '-W', 'ghost', '-n', '1'],
      ['addwork', '-W', 'ghost', '-u', join(fixture.scratch, `${spec}-shape.jsonl`), '--continue-on-error'],
      ['delete', '-W', 'ghost', '-y'],
    ]) {
      const run = await cli(...args)
      expect(run.code, args.join(' ')).toBe(1)
      expect(run.stderr, args.join(' ')).toContain('no such work spec "ghost"')
    }
  })
})

describe('connecting', () => {
  it('wrong options are usage errors (exit 2)', async () => {
    for (const [args, message] of [
      [['work_units', '-W', 'bad-address', '-s', 'sleeping'], "argument 'sleeping' is invalid"],
      [['work_units', '-W', 'bad-address', '-n', 'ten'], '--limit must be a whole number'],
      [['work_units'], 'name a work spec with -W NAME or -w FILE'],
      [['work_units', '-W', 'bad-address', '--json', '--jsonl'], "option '--json' cannot be used with option '--jsonl'"],
      [['retry', '-W', 'bad-address'], 'name the work units to retry'],
      [['load', '-w', join(fixture.scratch, 'bad-address.yaml')], 'give the work units with -u FILE'],
      [['summary', '--bogus'], "unknown option '--bogus'"],
    ] as const) {
      const run = await runCli([...daemon, ...args])
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr, args.join(' ')).toContain(message)
    }
  })
  it('an unknown subcommand suggests the nearest one', async () => {
    const run = await runCli(['sumary'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain("unknown command 'sumary'")
    expect(run.stderr).toContain('Did you mean summary?')
    expect((await runCli(['work_unit', '--help'])).stdout).toContain('Example:\n  $ coordinate work_unit -W crawl')
  })

  it('an unreachable daemon fails at once, naming the address', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as { port: number }
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const run = await runCli(['--address', `127.0.0.1:${port}`, 'summary'])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(`coordinate: cannot connect to 127.0.0.1:${port}: ECONNREFUSED\n`)
  })

  it('a daemon that accepts but never answers is given up on at the connect timeout', async () => {
    // The connection opens; the request is never answered. The timeout applies to connecting,
    // so this checks that the CLI does not hang either: it gives up when the peer closes.
    const silent = createServer((socket) => setTimeout(() => socket.destroy(), 300))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as { port: number }
    try {
      const run = await runCli(['--address', `127.0.0.1:${port}`, 'summary'])
      expect(run.code).toBe(1)
      expect(run.stderr).toBe(`coordinate: 127.0.0.1:${port} closed the connection\n`)
    } finally {
      silent.close()
    }
  })

  it('an unreachable database fails naming it, without its password', async () => {
    const run = await runCli(['--database-url', 'postgres://someone:secret@127.0.0.1:1/nothing', '--connect-timeout', '2', 'summary'])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('postgres://someone:***@127.0.0.1:1/nothing')
    expect(run.stderr).not.toContain('secret')
  })

  it('reads the daemon address from a config file, -c or the default place, and the environment', async () => {
    const config = await file('coordinate.yaml', `coordinate:\n  addresses: ['127.0.0.1:${fixture.daemon.address.port}']\n`)
    const viaFlag = await runCli(['-c', config, 'work_specs', '--json'])
    expect(viaFlag.code).toBe(0)
    expect(JSON.parse(viaFlag.stdout)).toBeInstanceOf(Array)
    const viaHome = await runCli(['work_specs', '--json'], { env: { XDG_CONFIG_HOME: fixture.scratch } })
    expect(viaHome.code).toBe(0)
    const viaEnv = await runCli(['work_specs', '--json'], { env: { COORDINATE_ADDRESS: `127.0.0.1:${fixture.daemon.address.port}` } })
    expect(viaEnv.code).toBe(0)
    const broken = await runCli(['-c', await file('broken-config.yaml', 'coordinate: [\n'), 'summary'])
    expect(broken.code).toBe(1)
    expect(broken.stderr).toContain('broken-config.yaml')
  })

  it('refuses a namespace over CBOR-RPC and two targets at once', async () => {
    const namespace = await runCli([...daemon, '-N', 'other', 'summary'])
    expect(namespace.code).toBe(2)
    expect(namespace.stderr).toContain('a CBOR-RPC daemon serves only the namespace ""')
    const two = await runCli([...daemon, '--database-url', 'postgres://x/y', 'summary'])
    expect(two.code).toBe(2)
    expect(two.stderr).toContain('give only one of --address, --http and --database-url')
  })
})

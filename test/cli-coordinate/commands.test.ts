import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Namespace } from '../../src/coordinate/api.js'
import { runCli } from './support/run-cli.js'
import { type CliTarget, namespaceOf, openCliFixture } from './support/targets.js'

// Every subcommand, run as a subprocess against coordinated over CBOR-RPC and straight against
// the database, checked on its output, its exit code and the state it leaves.
const fixture = await openCliFixture()

async function file(name: string, text: string): Promise<string> {
  const path = join(fixture.scratch, name)
  await writeFile(path, text)
  return path
}

const jsonLines = (text: string): unknown[] =>
  text
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown)

describe.each(fixture.targets)('coordinate over $name', (target: CliTarget) => {
  const cli = (...args: string[]) => runCli([...target.args, ...args])
  const library = async (): Promise<Namespace> => fixture.coordinate!.namespace(namespaceOf(target))
  // The library checks need the database itself; without a server only the daemon has it.
  const withLibrary = fixture.coordinate ? it : it.skip
  const spec = `crawl-${target.args[0]!.replace(/\W/g, '')}`

  it('load sets the spec with its nice level and adds the units; summary and status count them', async () => {
    const specFile = await file(`${spec}.yaml`, `name: ${spec}\nmin_gb: 0.5\n`)
    const units = await file(`${spec}.jsonl`, '{"u1": {"n": 1}}\n\n# a comment\n{"u2": {"n": 2}, "u3": {"é": "ü"}}\n{"u4": {}}\n')
    const load = await cli('load', '-w', specFile, '-u', units, '-n', '5')
    expect(load.stderr).toBe('')
    expect(load.code).toBe(0)
    expect(load.stdout).toMatch(new RegExp(`^Loaded 4 work units into ${spec} in [\\d.]+ s \\(\\d+ units/s\\)\\.\\n$`))

    const summary = await cli('summary')
    expect(summary.code).toBe(0)
    const [heading, row] = summary.stdout.split('\n')
    expect(heading).toBe(`Work spec${' '.repeat(spec.length - 9 + 2)}Available  Pending  Failed  Finished  Total`)
    expect(row).toBe(`${spec}${' '.repeat(2 + 9 - 1)}4        0       0         0      4`)
    expect(summary.stdout).not.toContain('\x1b[')

    const json = JSON.parse((await cli('summary', '--json')).stdout) as unknown
    expect(json).toEqual([{ work_spec: spec, available: 4, pending: 0, failed: 0, finished: 0, total: 4 }])
    const status = await cli('status', '-W', spec, '--jsonl')
    expect(jsonLines(status.stdout)).toEqual([{ work_spec: spec, available: 4, pending: 0, failed: 0, finished: 0, total: 4 }])
  })

  it('work_specs and work_spec print the names and the definition', async () => {
    expect((await cli('work_specs')).stdout).toBe(`${spec}\n`)
    expect(JSON.parse((await cli('work_specs', '--json')).stdout)).toEqual([spec])
    const yaml = await cli('work_spec', '-W', spec)
    expect(yaml.code).toBe(0)
    expect(yaml.stdout).toBe(`name: ${spec}\nmin_gb: 0.5\nnice: 5\n`)
    expect(JSON.parse((await cli('work_spec', '-w', join(fixture.scratch, `${spec}.yaml`), '--json')).stdout)).toEqual({ name: spec, min_gb: 0.5, nice: 5 })
  })

  it('work_units lists keys in order across pages, with a limit, with details, and as JSON', async () => {
    expect((await cli('work_units', '-W', spec)).stdout).toBe('u1\nu2\nu3\nu4\n')
    expect((await cli('work_units', '-W', spec, '--page-size', '1')).stdout).toBe('u1\nu2\nu3\nu4\n')
    expect((await cli('work_units', '-W', spec, '-n', '3', '--page-size', '2')).stdout).toBe('u1\nu2\nu3\n')
    expect((await cli('work_units', '-W', spec, '--details', '-n', '1')).stdout).toBe('u1: {"n":1}\n')
    const lines = jsonLines((await cli('work_units', '-W', spec, '--details', '--jsonl', '--page-size', '3')).stdout)
    expect(lines).toEqual([
      { key: 'u1', data: { n: 1 } },
      { key: 'u2', data: { n: 2 } },
      { key: 'u3', data: { é: 'ü' } },
      { key: 'u4', data: {} },
    ])
    expect(JSON.parse((await cli('work_units', '-W', spec, '-s', 'pending', '--json')).stdout)).toEqual([])
  })

  withLibrary('work_unit, work_units -s failed and retry follow failed units back to available', async () => {
    const ns = await library()
    const worker = await ns.worker(`${spec}-worker`)
    const attempts = await worker.requestAttempts({ workSpecs: [spec], numberOfWorkUnits: 2 })
    expect(attempts.map((attempt) => attempt.workUnit.name)).toEqual(['u1', 'u2'])
    for (const attempt of attempts) await attempt.fail({ traceback: 'Traceback (most recent call last):\n  boom' })

    expect((await cli('work_units', '-W', spec, '-s', 'failed')).stdout).toBe('u1\nu2\n')
    const unit = await cli('work_unit', '-W', spec, 'u1', 'u3')
    expect(unit.code).toBe(0)
    expect(unit.stdout).toBe(`u1 (failed)\n  Worker: ${spec}-worker\n  Traceback:\n    Traceback (most recent call last):\n      boom\nu3 (available)\n`)
    const [entry] = jsonLines((await cli('work_unit', '-W', spec, 'u2', '--jsonl')).stdout)
    expect(entry).toEqual({ key: 'u2', status: 'failed', worker_id: `${spec}-worker`, traceback: 'Traceback (most recent call last):\n  boom' })

    const missing = await cli('work_unit', '-W', spec, 'nope')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe('nope: no such work unit\n')

    const one = await cli('retry', '-W', spec, 'u1', 'u3')
    expect(one.code).toBe(1)
    expect(one.stdout).toBe('Retried 1 work unit.\n')
    const all = await cli('retry', '-W', spec, '-a')
    expect(all.code).toBe(0)
    expect(all.stdout).toBe('Retried 1 work unit.\n')
    expect((await cli('retry', '-W', spec, '--all')).stdout).toBe('Nothing to do.\n')
    expect(await (await ns.workSpec(spec)).countWorkUnitStatus()).toEqual({ available: 4 })
  })

  withLibrary('prioritize, pause and resume change the spec and its units', async () => {
    const ns = await library()
    const prioritized = await cli('prioritize', spec, 'u3', 'u4', '-p', '7')
    expect(prioritized.code).toBe(0)
    expect(prioritized.stdout).toBe('Set the priority of 2 work units to 7.\n')
    const workSpec = await ns.workSpec(spec)
    expect((await (await workSpec.workUnit('u3')).meta()).priority).toBe(7)
    expect((await (await workSpec.workUnit('u1')).meta()).priority).toBe(0)

    expect((await cli('pause', spec)).stdout).toBe(`Paused ${spec}.\n`)
    expect((await workSpec.meta()).paused).toBe(true)
    expect((await cli('resume', spec)).stdout).toBe(`Resumed ${spec}.\n`)
    expect((await workSpec.meta()).paused).toBe(false)
  })

  it('addwork reads units from stdin; clear deletes by key, by status and all', async () => {
    const added = await runCli([...target.args, 'addwork', '-W', spec, '-u', '-', '--json'], { input: '{"s1": {"from": "stdin"}}\n{"s2": {}}\n' })
    expect(added.code).toBe(0)
    expect(JSON.parse(added.stdout)).toMatchObject({ work_spec: spec, units: 2, lines: 2, skipped_lines: [] })
    expect((await cli('work_units', '-W', spec)).stdout).toBe('s1\ns2\nu1\nu2\nu3\nu4\n')

    expect((await cli('clear', '-W', spec, 's1', 'nope')).stdout).toBe('Removed 1 work unit.\n')
    expect((await cli('clear', '-W', spec, '-s', 'finished')).stdout).toBe('Removed 0 work units.\n')
    expect((await cli('clear', '-W', spec, '-s', 'available', 's2')).stdout).toBe('Removed 1 work unit.\n')
    expect((await cli('work_units', '-W', spec)).stdout).toBe('u1\nu2\nu3\nu4\n')
  })

  withLibrary('workers and worker_stats list live workers with their modes and environments', async () => {
    const ns = await library()
    const parent = await ns.worker(`${spec}-parent`)
    await parent.update({ mode: 'run', data: { hostname: 'box-1' }, expiration: new Date(Date.now() + 600_000) })
    const child = await ns.worker(`${spec}-child`)
    await child.setParent(parent)
    await child.update({ mode: 'idle', expiration: new Date(Date.now() + 600_000) })

    const table = await cli('workers')
    expect(table.code).toBe(0)
    expect(table.stdout).toContain(`${spec}-child   idle\n`)
    expect(table.stdout).toContain(`${spec}-parent  run\n`)
    const json = JSON.parse((await cli('workers', '--details', '--json')).stdout) as { name: string; environment: unknown }[]
    expect(json.find((worker) => worker.name === `${spec}-parent`)).toEqual({ name: `${spec}-parent`, mode: 'run', alive: true, environment: { hostname: 'box-1' } })
    // The worker that failed units earlier is alive too (its lease lifetime has not run out).
    const stats = JSON.parse((await cli('worker_stats', '--json')).stdout) as Record<string, number>
    expect(stats).toEqual({ num_workers: 3, num_children: 1, num_expirable: 3 })
    expect((await cli('worker_stats')).stdout).toBe('Stat           Value\nnum_workers        3\nnum_children       1\nnum_expirable      3\n')
  })

  it('metrics prints one sample per interval', async () => {
    const metrics = await cli('metrics', '-W', spec, '-n', '2', '-i', '0.1', '--jsonl')
    expect(metrics.code).toBe(0)
    const samples = jsonLines(metrics.stdout)
    expect(samples).toHaveLength(2)
    expect(samples[1]).toMatchObject({ work_spec: spec, total: 4, finished_per_second: 0 })
    const text = await cli('metrics', '-W', spec, '-n', '1')
    expect(text.stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d  ${spec}  available \\d+  pending 0  failed 0  finished 0  \\(0\\.0/s\\)\\n$`))
  })

  it('delete asks for -y without a terminal, then deletes one spec or all of them', async () => {
    const refused = await cli('delete', '-W', spec)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('refusing to delete without --yes')
    expect((await cli('work_specs')).stdout).toBe(`${spec}\n`)

    await cli('load', '-w', await file('other.yaml', 'name: other\n'), '--no-work')
    expect((await cli('delete', '-W', spec, '-y')).stdout).toBe(`Deleted work spec ${spec}.\n`)
    expect((await cli('work_specs')).stdout).toBe('other\n')
    expect((await cli('delete', '--yes')).stdout).toBe('Deleted 1 work specs.\n')
    expect(JSON.parse((await cli('summary', '--json')).stdout)).toEqual([])
  })
})

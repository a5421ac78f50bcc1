import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { runCli } from './support/run-cli.js'
import { openCliFixture } from './support/targets.js'

// A 200k-line load through each target, checked by count; the rate is printed, not asserted
// (timings on a shared machine say nothing a test could rely on).
const LINES = 200_000
const fixture = await openCliFixture()

async function writeUnits(path: string, lines: number): Promise<void> {
  const out = createWriteStream(path)
  for (let i = 0; i < lines; i++) {
    if (!out.write(`{"unit-${String(i).padStart(7, '0')}": {"n": ${i}, "url": "https://example.com/${i}"}}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

describe.each(fixture.targets)('a 200k-line load over $name', (target) => {
  it('loads every unit and reports its rate', { timeout: 300_000 }, async () => {
    const spec = `big-${target.args[0]!.replace(/\W/g, '')}`
    const specFile = join(fixture.scratch, `${spec}.yaml`)
    const units = join(fixture.scratch, `${spec}.jsonl`)
    await Promise.all([writeUnits(units, LINES), import('node:fs/promises').then(({ writeFile }) => writeFile(specFile, `name: ${spec}\n`))])
    const load = await runCli([...target.args, 'load', '-w', specFile, '-u', units, '--json'])
    expect(load.stderr).toBe('')
    expect(load.code).toBe(0)
    const outcome = JSON.parse(load.stdout) as { units: number; seconds: number; units_per_second: number }
    expect(outcome.units).toBe(LINES)
    console.log(`coordinate load over ${target.name}: ${LINES} units in ${outcome.seconds.toFixed(1)} s, ${outcome.units_per_second} units/s`)

    const status = JSON.parse((await runCli([...target.args, 'status', '-W', spec, '--json'])).stdout) as { available: number }[]
    expect(status[0]!.available).toBe(LINES)
    const last = await runCli([...target.args, 'work_units', '-W', spec, '--jsonl', '--details', '-n', '1'])
    expect(JSON.parse(last.stdout)).toEqual({ key: 'unit-0000000', data: { n: 0, url: 'https://example.com/0' } })
  })
})

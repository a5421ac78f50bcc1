import { Writable } from 'node:stream'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { Context } from '../../src/cli/commands/context.js'
import { bashCompletion } from '../../src/cli/commands/completion-command.js'
import { buildProgram } from '../../src/cli/commands/program.js'
import { progressBar } from '../../src/cli/load/progress.js'
import { parseUnitLine } from '../../src/cli/load/unit-file.js'
import { toJson } from '../../src/cli/output/json-value.js'
import { Output, wantsColor } from '../../src/cli/output/output.js'
import { renderTable } from '../../src/cli/output/table.js'
import { Tuple, Uuid } from '../../src/coordinate/data.js'

// The pieces of the CLI that need no daemon: formatting, the line parser, color and progress
// decisions that the subprocess tests (whose stdout is a pipe) cannot reach.

class Capture extends Writable {
  text = ''
  constructor(readonly isTTY: boolean) {
    super()
  }
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8')
    done()
  }
}

describe('coordinate output', () => {
  it('colors only a terminal, and never with NO_COLOR or TERM=dumb', () => {
    expect(wantsColor({ isTTY: true }, {})).toBe(true)
    expect(wantsColor({ isTTY: false }, {})).toBe(false)
    expect(wantsColor({}, {})).toBe(false)
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(wantsColor({ isTTY: true }, { TERM: 'dumb' })).toBe(false)
    expect(new Output(new Capture(true), new Capture(true), true).colors.red('x')).toBe('\x1b[31mx\x1b[39m')
    expect(new Output(new Capture(true), new Capture(true), false).colors.red('x')).toBe('x')
  })

  it('aligns table columns, numbers on the right, without trailing spaces', () => {
    const text = renderTable([{ heading: 'Spec' }, { heading: 'Count', align: 'right' }], [['a', 5], ['longer', 12345]])
    expect(text).toBe('Spec    Count\na           5\nlonger  12345\n')
  })

  it('turns data values into JSON a script can read', () => {
    const uuid = Uuid.parse('12345678-1234-5678-1234-567812345678')
    expect(toJson({ text: 'é', bytes: new Uint8Array([104, 105]), raw: new Uint8Array([0xff]), tuple: Tuple.of(1, 'a'), uuid, big: 2n ** 70n, small: 5n })).toEqual({
      text: 'é',
      bytes: 'hi',
      raw: { $bytes: '/w==' },
      tuple: [1, 'a'],
      uuid: '12345678-1234-5678-1234-567812345678',
      big: '1180591620717411303424',
      small: 5,
    })
    expect(toJson(new Map([[1, 'one']]))).toEqual({ '1': 'one' })
  })

  it('parses unit lines as Python did: one object, keys to data objects, # and blanks skipped', () => {
    expect(parseUnitLine('  {"a": {"x": 1}, "b": {}}  ')).toEqual([
      { key: 'a', data: { x: 1 } },
      { key: 'b', data: {} },
    ])
    expect(parseUnitLine('')).toBeNull()
    expect(parseUnitLine('   # comment')).toBeNull()
    expect(parseUnitLine('{}')).toEqual([])
    expect(() => parseUnitLine('{"a": null}')).toThrow('the data of "a" must be an object, not null')
    expect(() => parseUnitLine(`{"${'k'.repeat(2001)}": {}}`)).toThrow('is longer than 2000 bytes')
    expect(() => parseUnitLine('{"a": {}')).toThrow(/^not valid JSON: /)
  })

  it('shows a progress bar with rate and ETA on a terminal, and nothing elsewhere', () => {
    const terminal = new Capture(true)
    const bar = progressBar(terminal, 1000, 'loading crawl')
    bar.update(500)
    bar.stop()
    expect(terminal.text).toContain('loading crawl [')
    expect(terminal.text).toMatch(/500\/1000 units \| \d+ units\/s \| ETA/)
    const pipe = new Capture(false)
    const none = progressBar(pipe, 1000, 'loading crawl')
    none.update(500)
    none.stop()
    expect(pipe.text).toBe('')
  })

  it('completes every command and its options in bash', () => {
    const output = new Output(new Capture(false), new Capture(false), false)
    const io = { stdin: process.stdin, stdout: output.stdout, stderr: output.stderr, env: {} }
    const program: Command = buildProgram(io, new Context(output, process.stdin, {}, () => ({ connectTimeout: 5 })))
    const script = bashCompletion(program)
    expect(script).toContain('complete -o default -F _coordinate coordinate')
    expect(script).toContain('    work_units) opts="-w --work-spec -W --work-spec-name --json --jsonl -s --status -n --limit --details --page-size --help')
    for (const name of ['summary', 'load', 'addwork', 'retry', 'metrics']) expect(script).toContain(`    ${name}) opts=`)
  })
})

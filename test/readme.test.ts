import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { createFileDatabase } from './support/database.js'

// The README's TypeScript examples, run as written: each ```ts block becomes a module that
// imports this checkout's src/ for 'coordinate-ts' and runs on this file's database (PGlite in
// memory without a server). A `console.log(…) // value` line must print that value.
const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!)
const database = await createFileDatabase()
const generated = new URL('./.readme-blocks/', import.meta.url)
afterAll(async () => {
  await rm(generated, { recursive: true, force: true })
  await database.drop()
})

/** The values the block's comments promise, in the order its console.log lines print them. */
function promisedValues(block: string): unknown[] {
  return [...block.matchAll(/^\s*console\.log\(.*\) \/\/ (.+)$/gm)].map((match) => new Function(`return (${match[1]})`)() as unknown)
}

describe('README', () => {
  it('has TypeScript examples, each promising what it prints', () => {
    expect(blocks.length).toBeGreaterThan(0)
    for (const block of blocks) expect(promisedValues(block).length).toBeGreaterThan(0)
  })

  blocks.forEach((block, index) => {
    it(`example ${index + 1} runs as written and prints what it says`, async () => {
      const source = block.replaceAll("from 'coordinate-ts'", `from '${fileURLToPath(new URL('../src/index.js', import.meta.url))}'`)
      await mkdir(generated, { recursive: true })
      const file = new URL(`block-${index + 1}.ts`, generated)
      await writeFile(file, `${source}\nexport {}\n`)
      const printed: unknown[] = []
      const log = vi.spyOn(console, 'log').mockImplementation((value: unknown) => void printed.push(value))
      vi.stubEnv('DATABASE_URL', database.url ?? '')
      try {
        await import(fileURLToPath(file))
      } finally {
        log.mockRestore()
        vi.unstubAllEnvs()
      }
      expect(printed).toEqual(promisedValues(block))
    }, 120_000)
  })
})

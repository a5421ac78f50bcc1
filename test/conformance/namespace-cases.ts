import { expect, it } from 'vitest'
import {
  BadWorkSpecNameError,
  InvalidInputError,
  NoSuchWorkSpecError,
  NoWorkSpecNameError,
  type DataDict,
} from '../../src/coordinate/index.js'
import { type ContextGetter, expectError } from './helpers.js'

/** go-coordinate coordinatetest/namespace.go, plus spec-name input checks. */
export function namespaceCases(ctx: ContextGetter): void {
  it('a namespace has the name it was asked for (TestNamespaceTrivial)', () => {
    const { namespace } = ctx()
    expect(namespace.name).toBe('TestNamespaceTrivial')
  })

  it('the namespace list includes a namespace once it is created (TestNamespaces)', async () => {
    const { coordinate, testName } = ctx()
    const namespaces = await coordinate.namespaces()
    const mine = namespaces.filter((ns) => ns.name === testName)
    expect(mine).toHaveLength(1)
    expect(mine[0]!.name).toBe(testName)
  })

  it('a work spec can be created, read back, listed and destroyed (TestSpecCreateDestroy)', async () => {
    const { namespace } = ctx()
    const name = 'spec'

    const missing = await expectError(() => namespace.workSpec(name), NoSuchWorkSpecError)
    expect(missing.workSpecName).toBe(name)
    expect(await namespace.workSpecNames()).toEqual([])

    const dict: DataDict = { name, min_gb: 0.1 }
    const created = await namespace.setWorkSpec(dict)
    expect(created.name).toBe(name)

    const spec = await namespace.workSpec(name)
    expect(spec.name).toBe(name)
    expect(await spec.data()).toEqual(dict)
    expect(await namespace.workSpecNames()).toEqual([name])

    await namespace.destroyWorkSpec(name)

    const gone = await expectError(() => namespace.workSpec(name), NoSuchWorkSpecError)
    expect(gone.workSpecName).toBe(name)
    expect(await namespace.workSpecNames()).toEqual([])

    const again = await expectError(() => namespace.destroyWorkSpec(name), NoSuchWorkSpecError)
    expect(again.workSpecName).toBe(name)
  })

  it('setting a work spec without a name, or with a name that is not a string, is refused (TestSpecErrors)', async () => {
    const { namespace } = ctx()
    await expectError(() => namespace.setWorkSpec({}), NoWorkSpecNameError)
    await expectError(() => namespace.setWorkSpec({ name: 4 }), BadWorkSpecNameError)
    expect(await namespace.workSpecNames()).toEqual([])
  })

  it('two work specs in one namespace are kept apart and listed in order (TestTwoWorkSpecsBasic)', async () => {
    const { namespace } = ctx()
    const [name1, name2] = ['spec1', 'spec2']

    expect(await namespace.workSpecNames()).toEqual([])
    await namespace.setWorkSpec({ name: name1, min_gb: 1 })
    expect(await namespace.workSpecNames()).toEqual([name1])
    await namespace.setWorkSpec({ name: name2, min_gb: 2 })
    // go leaves the order open; coordinate-ts sorts the names.
    expect(await namespace.workSpecNames()).toEqual([name1, name2])

    expect((await namespace.workSpec(name1)).name).toBe(name1)
    expect((await namespace.workSpec(name2)).name).toBe(name2)

    await namespace.destroyWorkSpec(name1)
    expect(await namespace.workSpecNames()).toEqual([name2])
    expect((await expectError(() => namespace.workSpec(name1), NoSuchWorkSpecError)).workSpecName).toBe(name1)
    expect((await namespace.workSpec(name2)).name).toBe(name2)

    await namespace.destroyWorkSpec(name2)
    expect(await namespace.workSpecNames()).toEqual([])
    expect((await expectError(() => namespace.workSpec(name1), NoSuchWorkSpecError)).workSpecName).toBe(name1)
    expect((await expectError(() => namespace.workSpec(name2), NoSuchWorkSpecError)).workSpecName).toBe(name2)
  })

  it('workSpecNames are sorted whatever the creation order', async () => {
    const { namespace } = ctx()
    for (const name of ['zeta', 'alpha', 'Mid', 'beta']) await namespace.setWorkSpec({ name })
    expect(await namespace.workSpecNames()).toEqual(['Mid', 'alpha', 'beta', 'zeta'])
  })

  it('setWorkSpec with a missing, empty or non-string name is rejected and writes nothing', async () => {
    const { namespace } = ctx()
    await expectError(() => namespace.setWorkSpec({ min_gb: 1 }), NoWorkSpecNameError)
    await expectError(() => namespace.setWorkSpec({ name: '' }), NoWorkSpecNameError)
    await expectError(() => namespace.setWorkSpec({ name: 4 }), BadWorkSpecNameError)
    await expectError(() => namespace.setWorkSpec({ name: ['spec'] }), BadWorkSpecNameError)
    await expectError(() => namespace.setWorkSpec({ name: true }), BadWorkSpecNameError)
    expect(await namespace.workSpecNames()).toEqual([])
  })

  it('setWorkSpec with data it cannot store is rejected and writes nothing', async () => {
    const { namespace } = ctx()
    class Opaque {
      readonly secret = 1
    }
    const bad: unknown[] = [
      { name: 'spec', f: () => 1 },
      { name: 'spec', u: undefined },
      { name: 'spec', nested: { deep: new Opaque() } },
      { name: 'spec', when: new Date(0) },
      { name: 'spec', sym: Symbol('x') },
    ]
    for (const data of bad) {
      await expectError(() => namespace.setWorkSpec(data as DataDict), InvalidInputError)
    }
    expect(await namespace.workSpecNames()).toEqual([])
  })

  it('workSpec and destroyWorkSpec of an unknown name throw NoSuchWorkSpecError naming it', async () => {
    const { namespace } = ctx()
    await namespace.setWorkSpec({ name: 'known' })
    expect((await expectError(() => namespace.workSpec('unknown'), NoSuchWorkSpecError)).workSpecName).toBe('unknown')
    expect((await expectError(() => namespace.destroyWorkSpec('unknown'), NoSuchWorkSpecError)).workSpecName).toBe('unknown')
    expect(await namespace.workSpecNames()).toEqual(['known'])
  })
}

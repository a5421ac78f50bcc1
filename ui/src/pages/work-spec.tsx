import { useEffect, useRef, useState } from 'preact/hooks'
import type { RetryResult, SpecDetail, UnitPage } from '../../../src/rest/dashboard-types.js'
import { api, query } from '../api.js'
import { DataView } from '../components/data-view.js'
import { LoadState } from '../components/load-state.js'
import { StatusChips } from '../components/status-counts.js'
import { ThroughputChart } from '../components/throughput-chart.js'
import { SpecSettings } from '../components/spec-settings.js'
import { STATUSES, count, when } from '../format.js'
import { type ChangeMessage, useLive } from '../live.js'
import { navigate, overviewUrl, specUrl, unitUrl } from '../router.js'
import { dashSpec, restSpec } from '../paths.js'

const PAGE_SIZE = 50

/** A spec: its settings, definition, counts, charts, and a live table of its units. */
export function WorkSpecPage({ namespace, spec, search }: { namespace: string; spec: string; search: URLSearchParams }) {
  useEffect(() => {
    document.title = `${spec} · ${namespace === '' ? 'work spec' : namespace} · coordinate`
  }, [namespace, spec])
  const mine = (change: ChangeMessage): boolean => change.kind === 'namespace' ? change.namespace === namespace : change.namespace === namespace && change.work_spec === spec
  const detail = useLive(() => api<SpecDetail>('GET', dashSpec(namespace, spec)), [namespace, spec], mine)
  if (detail.data === undefined) return <LoadState error={detail.error} />
  const d = detail.data
  return (
    <main id="main">
      <nav class="crumbs" aria-label="breadcrumbs">
        <a href={overviewUrl()}>overview</a> / <span>{namespace === '' ? '(default namespace)' : namespace}</span>
      </nav>
      <h1>
        {spec} {d.meta.paused && <span class="badge">paused</span>}
        {d.stuck > 0 && <span class="badge warn">{count(d.stuck)} stuck</span>}
      </h1>
      {detail.error && <p class="error" role="alert">{detail.error.message}</p>}
      <StatusChips counts={d.counts} />
      <section class="panels">
        <ThroughputChart throughput={d.throughput} label="Throughput, last hour" />
        <SpecSettings namespace={namespace} spec={spec} meta={d.meta} onChanged={detail.reload} />
      </section>
      <UnitTable namespace={namespace} spec={spec} search={search} mine={mine} failed={d.counts.failed} />
      <details>
        <summary>Definition</summary>
        <DataView value={d.definition} />
      </details>
      <DangerZone namespace={namespace} spec={spec} />
    </main>
  )
}

function specSearch(search: URLSearchParams, changes: Record<string, string | null>): string {
  const next = new URLSearchParams(search)
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === '') next.delete(k)
    else next.set(k, v)
  }
  const text = next.toString()
  return text === '' ? '' : '?' + text
}

function UnitTable({ namespace, spec, search, mine, failed }: { namespace: string; spec: string; search: URLSearchParams; mine: (c: ChangeMessage) => boolean; failed: number }) {
  const status = search.get('status') ?? ''
  const prefix = search.get('prefix') ?? ''
  const sort = search.get('sort') ?? 'key'
  const after = search.get('after') ?? ''
  const base = specUrl(namespace, spec)
  const go = (changes: Record<string, string | null>, replace = false): void => navigate(base + specSearch(search, { after: null, ...changes }), replace)
  const units = useLive(
    () => api<UnitPage>('GET', `${dashSpec(namespace, spec)}/units${query({ status, prefix, sort, after, limit: String(PAGE_SIZE) })}`),
    [namespace, spec, status, prefix, sort, after],
    mine,
  )
  const [selected, setSelected] = useState<Set<string>>(new Set())
  const [message, setMessage] = useState('')
  const searchBox = useRef<HTMLInputElement>(null)
  useEffect(() => setSelected(new Set()), [namespace, spec, status, prefix, sort, after])
  useEffect(() => {
    // "/" jumps to the key search, as on many sites.
    const onKey = (event: KeyboardEvent): void => {
      const target = event.target as HTMLElement
      if (event.key === '/' && !['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) {
        event.preventDefault()
        searchBox.current?.focus()
      }
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [])

  const act = async (what: () => Promise<string>): Promise<void> => {
    try {
      setMessage(await what())
      setSelected(new Set())
      units.reload()
    } catch (error) {
      setMessage(error instanceof Error ? error.message : String(error))
    }
  }
  const keys = [...selected]
  const nameQuery = query({ name: keys })
  const retrySelected = (): Promise<void> => act(async () => `${(await api<RetryResult>('POST', `${dashSpec(namespace, spec)}/retry`, { keys })).retried} retried`)
  const retryAll = (): Promise<void> => act(async () => `${(await api<RetryResult>('POST', `${dashSpec(namespace, spec)}/retry`, {})).retried} retried`)
  const deleteSelected = (): void => {
    if (!confirm(`Delete ${keys.length} selected work unit(s) of ${spec} and their attempts?`)) return
    void act(async () => `${(await api<{ deleted: number }>('DELETE', `${restSpec(namespace, spec)}/work_unit${nameQuery}`)).deleted} deleted`)
  }
  const prioritySelected = (): void => {
    const answer = prompt(`New priority for ${keys.length} unit(s):`, '0')
    if (answer === null) return
    const priority = Number(answer)
    if (!Number.isFinite(priority)) return setMessage(`not a number: ${answer}`)
    void act(async () => `${(await api<{ count: number }>('POST', `${restSpec(namespace, spec)}/change${nameQuery}`, { meta: { priority } })).count} changed`)
  }
  const page = units.data
  const rows = page?.units ?? []
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.key))
  return (
    <section class="units" aria-label="work units">
      <h2>Work units</h2>
      <form
        class="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault()
          go({ prefix: searchBox.current?.value ?? '' })
        }}
      >
        <label>
          status{' '}
          <select value={status} onChange={(e) => go({ status: e.currentTarget.value })} name="status">
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          key starts with <input ref={searchBox} type="search" name="prefix" defaultValue={prefix} key={prefix} placeholder="press / to search" />
        </label>
        <label>
          sort{' '}
          <select value={sort} onChange={(e) => go({ sort: e.currentTarget.value })} name="sort">
            <option value="key">key</option>
            <option value="priority">priority</option>
            <option value="time">last attempt</option>
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      <div class="actions" role="toolbar" aria-label="unit actions">
        <button type="button" disabled={keys.length === 0} onClick={retrySelected}>Retry selected</button>
        <button type="button" disabled={keys.length === 0} onClick={prioritySelected}>Set priority…</button>
        <button type="button" class="danger" disabled={keys.length === 0} onClick={deleteSelected}>Delete selected</button>
        <button type="button" disabled={failed === 0} onClick={retryAll}>Retry all failed ({count(failed)})</button>
        <DeleteByStatus namespace={namespace} spec={spec} onDone={(n) => void act(async () => `${n} deleted`)} />
        <span class="message" role="status">{message}</span>
      </div>
      {units.error && <p class="error" role="alert">{units.error.message}</p>}
      <table class="unit-table" aria-busy={page === undefined}>
        <thead>
          <tr>
            <th scope="col">
              <input type="checkbox" aria-label="select all on this page" checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(rows.map((r) => r.key)))} />
            </th>
            <th scope="col">key</th>
            <th scope="col">status</th>
            <th scope="col" class="num">priority</th>
            <th scope="col">worker</th>
            <th scope="col">last attempt</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key} data-key={row.key}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`select ${row.name}`}
                  checked={selected.has(row.key)}
                  onChange={() => {
                    const next = new Set(selected)
                    if (!next.delete(row.key)) next.add(row.key)
                    setSelected(next)
                  }}
                />
              </td>
              <td class="key">
                <a href={unitUrl(namespace, spec, row.key)}>{row.binary ? <span class="v-bytes">{row.name}</span> : row.name}</a>
              </td>
              <td><span class={`status s-text-${row.status}`}>{row.status}</span></td>
              <td class="num">{row.priority}</td>
              <td>{row.worker ?? '–'}</td>
              <td>{when(row.lastTime)}</td>
            </tr>
          ))}
          {page !== undefined && rows.length === 0 && (
            <tr>
              <td colSpan={6} class="quiet">no units match</td>
            </tr>
          )}
        </tbody>
      </table>
      <nav class="pager" aria-label="pages">
        <button type="button" disabled={after === ''} onClick={() => go({})}>First page</button>
        <button type="button" disabled={!page?.next} onClick={() => page?.next && go({ after: page.next })}>Next page</button>
      </nav>
    </section>
  )
}

function DeleteByStatus({ namespace, spec, onDone }: { namespace: string; spec: string; onDone: (deleted: number) => void }) {
  const [status, setStatus] = useState('finished')
  return (
    <span class="inline">
      <select aria-label="status to delete" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
        {STATUSES.map((s) => (
          <option key={s} value={s}>{s}</option>
        ))}
      </select>
      <button
        type="button"
        class="danger"
        onClick={async () => {
          if (!confirm(`Delete every ${status} work unit of ${spec}?`)) return
          const result = await api<{ deleted: number }>('DELETE', `${restSpec(namespace, spec)}/work_unit${query({ status })}`)
          onDone(result.deleted)
        }}
      >
        Delete all {status}
      </button>
    </span>
  )
}

function DangerZone({ namespace, spec }: { namespace: string; spec: string }) {
  return (
    <section class="danger-zone" aria-label="delete spec">
      <button
        type="button"
        class="danger"
        onClick={async () => {
          if (!confirm(`Delete work spec ${spec} with all its units and attempts? This cannot be undone.`)) return
          await api('DELETE', restSpec(namespace, spec))
          navigate(overviewUrl())
        }}
      >
        Delete work spec…
      </button>
    </section>
  )
}

import { useEffect, useState } from 'preact/hooks'
import type { RetryResult, UnitDetail } from '../../../src/rest/dashboard-types.js'
import { api } from '../api.js'
import { DataView } from '../components/data-view.js'
import { LoadState } from '../components/load-state.js'
import { age, when } from '../format.js'
import { useLive } from '../live.js'
import { overviewUrl, specUrl, unitUrl } from '../router.js'
import { dashSpec, restUnit } from '../paths.js'

/** One unit: its data, status, priority, every attempt with its data and traceback, and what it chained to. */
export function WorkUnitPage({ namespace, spec, keySegment }: { namespace: string; spec: string; keySegment: string }) {
  const live = useLive(
    () => api<UnitDetail>('GET', `${dashSpec(namespace, spec)}/work_unit/${keySegment}`),
    [namespace, spec, keySegment],
    (c) => c.kind === 'namespace' ? c.namespace === namespace : c.namespace === namespace && c.work_spec === spec,
  )
  const [message, setMessage] = useState('')
  const unit = live.data
  useEffect(() => {
    document.title = `${unit?.name ?? 'work unit'} · ${spec} · coordinate`
  }, [unit?.name, spec])
  if (unit === undefined) return <LoadState error={live.error} />
  const act = async (what: () => Promise<string>): Promise<void> => {
    try {
      setMessage(await what())
      live.reload()
    } catch (error) {
      setMessage(error instanceof Error ? error.message : String(error))
    }
  }
  return (
    <main id="main">
      <nav class="crumbs" aria-label="breadcrumbs">
        <a href={overviewUrl()}>overview</a> / <a href={specUrl(namespace, spec)}>{spec}</a>
      </nav>
      <h1 class="key">{unit.binary ? <DataView value={unit.keyBytes} /> : unit.name}</h1>
      <dl class="meta">
        <dt>status</dt>
        <dd><span class={`status s-text-${unit.status}`} data-testid="unit-status">{unit.status}</span></dd>
        <dt>priority</dt>
        <dd>{unit.priority}</dd>
        {unit.notBefore !== null && (
          <>
            <dt>not before</dt>
            <dd>{when(unit.notBefore)} ({age(unit.notBefore, unit.now)})</dd>
          </>
        )}
        <dt>key</dt>
        <dd><code>{unit.key}</code></dd>
      </dl>
      <div class="actions" role="toolbar" aria-label="unit actions">
        <button type="button" disabled={unit.status !== 'failed' && unit.status !== 'finished'} onClick={() => void act(async () => `${(await api<RetryResult>('POST', `${dashSpec(namespace, spec)}/retry`, { keys: [unit.key] })).retried} retried`)}>
          Retry
        </button>
        <button
          type="button"
          onClick={() => {
            const answer = prompt('New priority:', String(unit.priority))
            if (answer === null) return
            const priority = Number(answer)
            if (!Number.isFinite(priority)) return setMessage(`not a number: ${answer}`)
            void act(async () => {
              await api('PUT', restUnit(namespace, spec, unit.key), { meta: { priority } })
              return `priority set to ${priority}`
            })
          }}
        >
          Set priority…
        </button>
        <span class="message" role="status">{message}</span>
      </div>
      <h2>Data</h2>
      <DataView value={unit.data} />
      <h2>Attempts ({unit.attempts.length})</h2>
      {unit.attempts.length === 0 && <p class="quiet">never attempted</p>}
      <ol class="attempts">
        {unit.attempts.map((attempt, index) => ({ attempt, index })).reverse().map(({ attempt, index }) => (
          <li key={attempt.id} value={index + 1} class={`attempt a-${attempt.status}`} data-attempt={attempt.id}>
            <p>
              <strong class={`status s-text-${attempt.status}`}>{attempt.status}</strong>
              {attempt.active && <span class="badge">active</span>} by <code>{attempt.worker}</code>, started {when(attempt.startTime)}
              {attempt.endTime !== null ? `, ended ${when(attempt.endTime)}` : `, lease until ${when(attempt.expirationTime)}`}
            </p>
            {attempt.traceback !== null && (
              <>
                <h3>Traceback</h3>
                <pre class="traceback">{attempt.traceback}</pre>
              </>
            )}
            <details>
              <summary>attempt data</summary>
              <DataView value={attempt.data} />
            </details>
          </li>
        ))}
      </ol>
      {unit.chained !== null && (
        <>
          <h2>Chained to {unit.chained.workSpec}</h2>
          <ul class="chained">
            {unit.chained.units.map((u) => (
              <li key={u.key}>
                {u.exists ? <a href={unitUrl(namespace, unit.chained!.workSpec, u.key)}>{u.name}</a> : <span>{u.name} <span class="quiet">(gone)</span></span>}
              </li>
            ))}
            {unit.chained.more > 0 && <li class="quiet">and {unit.chained.more} more</li>}
          </ul>
        </>
      )}
    </main>
  )
}

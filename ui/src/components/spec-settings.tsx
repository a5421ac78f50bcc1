import { useState } from 'preact/hooks'
import type { SpecMeta } from '../../../src/rest/dashboard-types.js'
import { api } from '../api.js'
import { restSpec } from '../paths.js'
import { specUrl } from '../router.js'

/** A spec's settings, with pause/resume and a form for the numbers operators change. */
export function SpecSettings({ namespace, spec, meta, onChanged }: { namespace: string; spec: string; meta: SpecMeta; onChanged: () => void }) {
  const [error, setError] = useState('')
  const put = async (body: Record<string, unknown>): Promise<void> => {
    try {
      setError('')
      await api('PUT', `${restSpec(namespace, spec)}/meta`, body)
      onChanged()
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    }
  }
  return (
    <section class="settings" aria-label="settings">
      <h2>Settings</h2>
      <p>
        <button type="button" onClick={() => void put({ paused: !meta.paused })}>
          {meta.paused ? 'Resume' : 'Pause'}
        </button>{' '}
        {meta.paused ? 'Paused: hands out no work.' : 'Running.'}
      </p>
      <form
        class="meta-form"
        onSubmit={(event) => {
          event.preventDefault()
          const form = new FormData(event.currentTarget)
          const number = (name: string): number => Number(form.get(name))
          void put({ priority: number('priority'), weight: number('weight'), max_running: number('max_running'), max_attempts_returned: number('max_getwork') })
        }}
      >
        <label>priority <input name="priority" type="number" step="1" defaultValue={String(meta.priority)} key={`p${meta.priority}`} /></label>
        <label>weight <input name="weight" type="number" min="1" step="1" defaultValue={String(meta.weight)} key={`w${meta.weight}`} /></label>
        <label>max_running <input name="max_running" type="number" min="0" step="1" defaultValue={String(meta.maxRunning)} key={`r${meta.maxRunning}`} /></label>
        <label>max_getwork <input name="max_getwork" type="number" min="0" step="1" defaultValue={String(meta.maxGetwork)} key={`g${meta.maxGetwork}`} /></label>
        <button type="submit">Save</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <dl class="meta">
        <dt>continuous</dt>
        <dd>{meta.canBeContinuous ? (meta.continuous ? 'yes' : 'off') : 'no'}</dd>
        <dt>then</dt>
        <dd>{meta.then === '' ? '–' : <a href={specUrl(namespace, meta.then)}>{meta.then}</a>}</dd>
        <dt>max_retries</dt>
        <dd>{meta.maxRetries === 0 ? 'no cap' : meta.maxRetries}</dd>
        {meta.runtime !== '' && (
          <>
            <dt>runtime</dt>
            <dd>{meta.runtime}</dd>
          </>
        )}
        {meta.minMemoryGb > 0 && (
          <>
            <dt>min_gb</dt>
            <dd>{meta.minMemoryGb}</dd>
          </>
        )}
        {meta.intervalMs > 0 && (
          <>
            <dt>interval</dt>
            <dd>{meta.intervalMs / 1000} s</dd>
          </>
        )}
      </dl>
    </section>
  )
}

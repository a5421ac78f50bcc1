import { useEffect, useRef } from 'preact/hooks'
import { setToken } from '../api.js'

/** Asks once for the API token; it is kept in this tab's session storage only. */
export function TokenPrompt({ onDone }: { onDone: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null)
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => {
    dialog.current?.showModal()
    input.current?.focus()
  }, [])
  return (
    <dialog ref={dialog} class="token" aria-labelledby="token-title" onCancel={(e) => e.preventDefault()}>
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault()
          const value = input.current?.value.trim() ?? ''
          if (value === '') return
          dialog.current?.close()
          onDone()
          setToken(value)
        }}
      >
        <h2 id="token-title">Access token</h2>
        <p>This daemon asks for a token. It is kept for this tab only.</p>
        <label>
          token <input ref={input} type="password" name="token" autocomplete="current-password" required />
        </label>
        <button type="submit">Continue</button>
      </form>
    </dialog>
  )
}

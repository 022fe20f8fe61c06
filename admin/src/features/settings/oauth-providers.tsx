import type { Setting } from './settings-page'

/** A provider as edited; `clientSecret` is sent only when typed (absent keeps the stored one). */
export interface ProviderDraft {
  name: string
  collection: string
  preset?: 'google' | 'github'
  issuer?: string
  clientId: string
  clientSecret?: string | null
  clientSecretSet?: boolean
  enabled: boolean
}

/** The sign-in providers list: add, edit, remove; secrets are write-only. */
export function OAuthProviders(props: {
  setting: Setting
  draft: ProviderDraft[] | undefined
  errorOf(key: string): string | undefined
  onChange(list: ProviderDraft[]): void
  onSave(): void
}) {
  const fixed = props.setting.source === 'environment'
  const list = props.draft ?? (props.setting.value as ProviderDraft[] | null) ?? []
  // What is sent: never the `clientSecretSet` flag the API answered.
  const send = (next: ProviderDraft[]) =>
    props.onChange(next.map(({ clientSecretSet: _set, ...p }) => p))
  const update = (i: number, patch: Partial<ProviderDraft>) =>
    send(list.map((p, j) => (j === i ? { ...p, ...patch } : p)))

  return (
    <fieldset>
      <legend>Sign-in providers (OAuth)</legend>
      {fixed && (
        <p className="muted">
          Set by the environment variable <code>{props.setting.variable}</code> (read-only).
        </p>
      )}
      {list.length === 0 && (
        <p className="empty">No provider yet. Add one to let users sign in with it.</p>
      )}
      {list.map((p, i) => {
        const id = `provider-${i}`
        const err = (field: string) => props.errorOf(`oauth.providers.${i}.${field}`)
        return (
          <fieldset key={i} disabled={fixed}>
            <legend>Provider {p.name || i + 1}</legend>
            <label htmlFor={`${id}-name`}>Name</label>
            <input
              id={`${id}-name`}
              value={p.name}
              onChange={(e) => update(i, { name: e.target.value })}
            />
            {err('name') && <p className="error">{err('name')}</p>}
            <label htmlFor={`${id}-collection`}>Auth collection</label>
            <input
              id={`${id}-collection`}
              value={p.collection}
              onChange={(e) => update(i, { collection: e.target.value })}
            />
            <label htmlFor={`${id}-kind`}>Kind</label>
            <select
              id={`${id}-kind`}
              value={p.preset ?? 'oidc'}
              onChange={(e) => {
                const kind = e.target.value
                const { preset: _p, issuer: _i, ...rest } = p
                update(
                  i,
                  kind === 'oidc' ? { ...rest, issuer: '' } : { ...rest, preset: kind as 'google' },
                )
              }}
            >
              <option value="oidc">OpenID Connect issuer</option>
              <option value="google">Google</option>
              <option value="github">GitHub</option>
            </select>
            {p.preset === undefined && (
              <>
                <label htmlFor={`${id}-issuer`}>Issuer URL</label>
                <input
                  id={`${id}-issuer`}
                  value={p.issuer ?? ''}
                  onChange={(e) => update(i, { issuer: e.target.value })}
                />
                {err('issuer') && <p className="error">{err('issuer')}</p>}
              </>
            )}
            <label htmlFor={`${id}-client`}>Client ID</label>
            <input
              id={`${id}-client`}
              value={p.clientId}
              onChange={(e) => update(i, { clientId: e.target.value })}
            />
            <label htmlFor={`${id}-secret`}>Client secret</label>
            <input
              id={`${id}-secret`}
              type="password"
              autoComplete="new-password"
              placeholder={
                p.clientSecretSet ? 'A secret is set: type to replace it' : 'No secret set'
              }
              value={typeof p.clientSecret === 'string' ? p.clientSecret : ''}
              onChange={(e) => update(i, { clientSecret: e.target.value })}
            />
            {err('clientSecret') && <p className="error">{err('clientSecret')}</p>}
            <label className="check">
              <input
                type="checkbox"
                checked={p.enabled}
                onChange={(e) => update(i, { enabled: e.target.checked })}
              />
              Enabled
            </label>
            <button
              type="button"
              className="link danger"
              onClick={() => send(list.filter((_, j) => j !== i))}
            >
              Remove provider {p.name || i + 1}
            </button>
          </fieldset>
        )
      })}
      {!fixed && (
        <div className="bar">
          <button
            type="button"
            onClick={() =>
              send([
                ...list,
                { name: '', collection: 'users', issuer: '', clientId: '', enabled: false },
              ])
            }
          >
            Add provider
          </button>
          <button type="button" onClick={props.onSave}>
            Save providers
          </button>
        </div>
      )}
    </fieldset>
  )
}

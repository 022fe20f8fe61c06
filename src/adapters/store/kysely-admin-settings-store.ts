import type { AdminSettingsStore } from './store.js'
import type { DynamicDb } from './dynamic-db.js'

/** `_admin_settings` on either dialect. */
export class KyselyAdminSettingsStore implements AdminSettingsStore {
  readonly #db: DynamicDb

  constructor(db: DynamicDb) {
    this.#db = db
  }

  async all(): Promise<Map<string, string>> {
    const rows = await this.#db.selectFrom('_admin_settings').select(['key', 'value']).execute()
    return new Map(rows.map((r) => [String(r.key), String(r.value)]))
  }

  async put(key: string, value: string, updated: string): Promise<void> {
    await this.#db
      .insertInto('_admin_settings')
      .values({ key, value, updated })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated }))
      .execute()
  }

  async remove(key: string): Promise<void> {
    await this.#db.deleteFrom('_admin_settings').where('key', '=', key).execute()
  }
}

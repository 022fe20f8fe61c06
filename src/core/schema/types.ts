/**
 * The data model as users write it (`POST /api/collections`, `engineroom schema import`) and as
 * the engine keeps it. Pure declarations; validation lives in `validate-collection.ts`.
 */

export type FieldType =
  | 'text'
  | 'number'
  | 'bool'
  | 'date'
  | 'email'
  | 'url'
  | 'select'
  | 'json'
  | 'relation'
  | 'autodate'
  | 'file'

interface FieldCommon {
  /** Stable id; survives renames, so `PATCH` can tell a rename from a drop + add. */
  id: string
  /** `[A-Za-z_][A-Za-z0-9_]*`, at most 63 characters, not a system field name. */
  name: string
  required?: boolean
  unique?: boolean
  /** Never returned by the API (for users' own secrets; access rules come with auth). */
  hidden?: boolean
  /**
   * Only superusers may set or change it (`role`, `plan`, `credits`): others get a 403 naming
   * the field, whatever the collection's rules say. The default still applies on create.
   */
  protected?: boolean
  /**
   * Personal data (GDPR/CCPA): shown in privacy exports as such and cleared when its owner's
   * data is erased. `{ "name": "phone", "type": "text", "personal": true }`
   */
  personal?: boolean
}

/** `{ "name": "title", "type": "text", "required": true, "max": 200 }` — min/max count characters. */
export interface TextField extends FieldCommon {
  type: 'text'
  min?: number
  max?: number
  pattern?: string
  default?: string
}

/** `{ "name": "views", "type": "number", "min": 0, "integer": true }` */
export interface NumberField extends FieldCommon {
  type: 'number'
  min?: number
  max?: number
  integer?: boolean
  default?: number
}

export interface BoolField extends FieldCommon {
  type: 'bool'
  default?: boolean
}

/** Stored as ISO 8601 UTC text (`2026-11-28T16:45:41.123Z`); min/max are instants. */
export interface DateField extends FieldCommon {
  type: 'date'
  min?: string
  max?: string
  default?: string
}

export interface EmailField extends FieldCommon {
  type: 'email'
  max?: number
  default?: string
}

export interface UrlField extends FieldCommon {
  type: 'url'
  max?: number
  default?: string
}

/** `maxSelect` 1 (the default) is a single value, more makes the field multi-valued. */
export interface SelectField extends FieldCommon {
  type: 'select'
  values: string[]
  maxSelect?: number
  minSelect?: number
  default?: string | string[]
}

/** Any JSON value; `maxSize` bounds its serialised size in bytes (default 1 MiB). */
export interface JsonField extends FieldCommon {
  type: 'json'
  maxSize?: number
  default?: unknown
}

export type OnDelete = 'cascade' | 'restrict' | 'setNull'

/**
 * `{ "name": "author", "type": "relation", "collection": "users", "maxSelect": 1, "onDelete": "cascade" }`
 * `onDelete` says what deleting the referenced record does to this one (default `setNull`).
 */
export interface RelationField extends FieldCommon {
  type: 'relation'
  collection: string
  maxSelect?: number
  minSelect?: number
  onDelete?: OnDelete
}

/** A timestamp the engine sets: on create, on update, or both. */
export interface AutodateField extends FieldCommon {
  type: 'autodate'
  onCreate: boolean
  onUpdate: boolean
}

/**
 * Uploaded files, stored as blobs; the record holds their names (one, or a list when
 * `maxSelect` > 1). `{ "name": "avatar", "type": "file", "maxSize": 5242880,
 * "mimeTypes": ["image/png", "image/jpeg"], "thumbs": ["100x100", "400x0"], "protected": true }`.
 * The type is sniffed from the content, never taken from the name or the client's header.
 * For file fields `protected` means something else than for other fields: each download needs a
 * short-lived file token (`POST /api/files/token`) and the record's view rule must let its
 * holder see the record. Anyone allowed to write the record may upload to it.
 */
export interface FileField extends FieldCommon {
  type: 'file'
  maxSelect?: number
  /** Largest file in bytes (default 5 MiB). */
  maxSize?: number
  /** Allowed sniffed types (`image/png`, or `image/*`); any when absent or empty. */
  mimeTypes?: string[]
  /** Thumbnail sizes that `?thumb=` may ask for: `WxH` (crop), `WxHt`/`WxHb` (crop top/bottom), `WxHf` (fit), `0xH`/`Wx0` (keep ratio). */
  thumbs?: string[]
}

export type FieldDef =
  | TextField
  | NumberField
  | BoolField
  | DateField
  | EmailField
  | UrlField
  | SelectField
  | JsonField
  | RelationField
  | AutodateField
  | FileField

export interface IndexDef {
  /** Generated from the collection and fields when omitted. */
  name: string
  fields: string[]
  unique: boolean
}

/** `null` = superusers only, `""` = anyone, otherwise a filter-language expression. */
export interface CollectionRules {
  list: string | null
  view: string | null
  create: string | null
  update: string | null
  delete: string | null
}

export type CollectionType = 'base' | 'auth'

export interface CollectionDef {
  id: string
  name: string
  type: CollectionType
  /** Built-in collections (`_superusers`) cannot be renamed or dropped. */
  system: boolean
  fields: FieldDef[]
  indexes: IndexDef[]
  rules: CollectionRules
  /** How long records are kept (privacy retention); absent: for ever. */
  retention?: RecordRetention
  created: string
  updated: string
}

/**
 * Per-collection retention, applied by a scheduled job once per tick across nodes: records
 * created more than `days` days ago are deleted (their relations' `onDelete` applies), or have
 * their `personal` fields emptied (`anonymize`).
 *
 * @example
 *   { "name": "visits", "retention": { "days": 90, "action": "delete" }, … }
 *   { "name": "orders", "retention": { "days": 730, "action": "anonymize" }, … }
 */
export interface RecordRetention {
  days: number
  action: 'delete' | 'anonymize'
}

/** The value a filter or a record field holds, by its shape in the API. */
export type ValueKind = 'text' | 'number' | 'bool' | 'date' | 'json'

/** Fields every record has, in every collection. */
export const BASE_SYSTEM_FIELDS = ['id', 'created', 'updated'] as const
/** Fields `type: "auth"` collections add. `password` is write-only; `tokenKey` never leaves the server. */
export const AUTH_SYSTEM_FIELDS = ['email', 'password', 'verified', 'tokenKey'] as const

export const RULE_NAMES = ['list', 'view', 'create', 'update', 'delete'] as const
export type RuleName = (typeof RULE_NAMES)[number]

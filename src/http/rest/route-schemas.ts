import { Type } from '@sinclair/typebox'

/** Transport shapes only; the services validate meaning. */
export const nameParams = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' }),
})

export const recordParams = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' }),
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
})

const param = (maxLength: number) => Type.Optional(Type.String({ maxLength }))

export const listQuery = Type.Object({
  // No transport bound below the parser's own (configurable) limit, so an over-long filter is
  // the documented ER_FILTER_LIMIT; Node's 16 KiB header limit bounds the URL anyway.
  filter: param(16 * 1024),
  sort: param(1024),
  page: param(12),
  perPage: param(12),
  cursor: param(4096),
  fields: param(2048),
  expand: param(1024),
  count: param(5),
})

export const viewQuery = Type.Object({ fields: param(2048), expand: param(1024) })

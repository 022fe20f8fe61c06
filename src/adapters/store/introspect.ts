/** A table as a schema comparison sees it: dialect-neutral names only. */
export interface TableShape {
  name: string
  columns: string[]
  indexes: string[]
}

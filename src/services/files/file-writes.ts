import type { CollectionDef, FileField } from '../../core/schema/types.js'
import type { RequestContext } from '../context.js'
import type { NewFile } from './incoming-file.js'

export type { NewFile } from './incoming-file.js'

/** A file uploaded in a multipart request, already stored, under the part name it came with. */
export interface UploadedFile {
  /** `avatar` (set), `avatar+` (append) or `+avatar` (prepend). */
  key: string
  file: NewFile
}

/** A finished resumable upload chosen for a record, checked, named, not yet copied to storage. */
export interface PlannedFile extends NewFile {
  uploadId: string
}

/**
 * What the records service asks of the files service while writing a record with file fields
 * (the files service implements it; records only see this port).
 */
export interface FileWrites {
  /**
   * A finished tus upload of this caller for this collection and field, checked like a multipart
   * file (type, size, pixels) and given its stored name; `storePlanned` copies it to storage.
   */
  planUpload(
    ctx: RequestContext,
    collection: CollectionDef,
    field: FileField,
    uploadId: string,
  ): Promise<PlannedFile>
  /** Copies planned uploads to storage as files of record `recordId`. */
  storePlanned(
    files: readonly PlannedFile[],
    collection: CollectionDef,
    recordId: string,
  ): Promise<void>
  /** Deletes the blobs of files that never made it into a committed record. */
  discard(files: readonly NewFile[]): Promise<void>
  /** After the commit that took `files`: forgets their tus uploads and deletes removed blobs. */
  afterCommit(files: readonly NewFile[]): void
}

import { randomBytes } from 'node:crypto'

/** `engineroom-20261203T110500Z-k3x9q0.tar.gz`, `.tar.gz.enc` when encrypted. */
const NAME = /^engineroom-(\d{8}T\d{6}Z)-[a-z0-9]{6}\.tar\.gz(\.enc)?$/

/** A new archive's file name: sortable by time, unique, and telling whether it is encrypted. */
export function backupName(at: Date, encrypted: boolean): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
  const suffix = randomBytes(6)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 6)
  return `engineroom-${stamp}-${suffix}.tar.gz${encrypted ? '.enc' : ''}`
}

/** When a backup with this name was taken, or undefined for any other file name. */
export function backupTime(name: string): Date | undefined {
  const stamp = NAME.exec(name)?.[1]
  if (!stamp) return undefined
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`
  const time = new Date(iso)
  return Number.isNaN(time.getTime()) ? undefined : time
}

/**
 * The V8 flag that caps the young generation of a server process. V8 grows each of its two
 * semi-spaces up to 16 MB under a steady request load, so a busy server holds 32 MB of young
 * generation it mostly does not need. Two bench engine processes, with and without 8 MB,
 * loaded in turn (wrk, six rounds): peak RSS under load 180 → 121 MB (get by id) and
 * 138 → 123 MB (GraphQL), for the same CPU per request within the noise (53.0 vs 53.6 µs,
 * 319 vs 326 µs). See bench/NOTES-perf.md.
 *
 * V8 reads it only when the process starts (`v8.setFlagsFromString` later has no effect), so it
 * is passed where this code starts Node: `npm start` and the workers of `serve --workers`. An
 * operator's own setting, on the command line or in NODE_OPTIONS, wins.
 */
export const YOUNG_GENERATION_FLAG = '--max-semi-space-size=8'

/** `execArgv` for a server process: `execArgv` plus the cap, unless a size is already set. */
export function withYoungGenerationCap(
  execArgv: readonly string[],
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): string[] {
  const set = (text: string) => text.includes('--max-semi-space-size')
  if (execArgv.some(set) || set(nodeOptions ?? '')) return [...execArgv]
  return [...execArgv, YOUNG_GENERATION_FLAG]
}

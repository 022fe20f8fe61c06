/**
 * The engine and server modules, loaded when a command runs rather than when the CLI starts:
 * `--help` answers without them, and a `serve --workers` primary, which only forks and relays,
 * never holds them in memory (about 70 MB).
 */
export const loadMain = () => import('../../main.js')

/**
 * `engineroom serve` run as a plain `node …/main.js serve` (the installed bin) starts without the
 * young-generation cap that `npm start` passes (see src/young-generation.ts). V8 reads the flag
 * only when the isolate is created: `v8.setFlagsFromString('--max-semi-space-size=8')` at the
 * top of the process was measured to leave the new space at 32 MB. A shebang flag would override
 * NODE_OPTIONS. So `serve` starts itself once more with the flag, before it loads the server:
 *
 * - Node with `process.execve` (22.15+) replaces the process image: same PID, nothing else moves.
 * - Otherwise the server runs as a child with the same stdio. The PID the operator knows (the
 *   launcher's) still controls it: SIGTERM and SIGINT are relayed over IPC and count once even
 *   when the child got the same signal directly (Ctrl-C reaches the whole process group, a
 *   systemd stop the whole cgroup), so a single stop still drains; the launcher exits with the
 *   child's code or dies of its signal; and a launcher killed outright (kill -9) takes the child
 *   with it the same way, as a crash, never leaving a server holding the port behind it.
 *
 * Not relaunched: a size set on the command line or in NODE_OPTIONS (the operator's choice),
 * `serve --workers N` (the primary only forks; its workers get the flag from `startCluster`).
 */
import { spawn } from 'node:child_process'
import { withYoungGenerationCap } from '../young-generation.js'

/** Set in the relaunched server's environment: it must not relaunch again. */
export const RELAUNCHED_ENV = 'ER_RELAUNCHED_WITH_YOUNG_GENERATION_CAP'

const RELAYED = ['SIGTERM', 'SIGINT'] as const
/** A relayed signal this close to the same signal received directly is the same one. */
const SAME_SIGNAL_MS = 1000

/**
 * Relaunches this process with the cap when it lacks one. Resolves false when no relaunch is
 * needed (carry on serving here); otherwise never resolves: this process ends with the server.
 */
export function relaunchWithYoungGenerationCap(): Promise<false> | Promise<never> {
  const execArgv = withYoungGenerationCap(process.execArgv)
  if (execArgv.length === process.execArgv.length || process.env[RELAUNCHED_ENV]) {
    return Promise.resolve(false)
  }
  const args = [...execArgv, ...process.argv.slice(1)]
  const env = { ...process.env, [RELAUNCHED_ENV]: '1' }
  const execve = (process as { execve?: (file: string, args: string[], env: object) => never })
    .execve
  if (typeof execve === 'function') execve(process.execPath, [process.execPath, ...args], env)
  const child = spawn(process.execPath, args, {
    env,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  })
  for (const signal of RELAYED) {
    process.on(signal, () => {
      if (child.connected) child.send({ relayedSignal: signal })
    })
  }
  // A hang-up is passed on as it is (the server's default: it ends).
  process.on('SIGHUP', () => child.kill('SIGHUP'))
  return new Promise<never>(() => {
    child.once('exit', (code, signal) => {
      if (signal) {
        for (const name of [...RELAYED, 'SIGHUP'] as const) process.removeAllListeners(name)
        process.kill(process.pid, signal)
      }
      process.exit(code ?? 1)
    })
  })
}

/**
 * In the relaunched server: takes signals relayed by the launcher, unless the same signal
 * reached this process directly around then (one stop, not the "second signal" that exits at
 * once), and ends with the launcher if it dies.
 */
export function followLauncher(): void {
  if (!process.env[RELAUNCHED_ENV] || !process.connected) return
  const direct = new Map<string, number>()
  let relaying = false
  for (const signal of RELAYED) {
    process.prependListener(signal, () => {
      if (!relaying) direct.set(signal, Date.now())
    })
  }
  process.on('message', (message: { relayedSignal?: string }) => {
    const signal = RELAYED.find((name) => name === message.relayedSignal)
    if (!signal) return
    // The direct copy of a group-wide signal usually comes first; give it a moment if not.
    setTimeout(() => {
      if (Date.now() - (direct.get(signal) ?? -Infinity) < SAME_SIGNAL_MS) return
      relaying = true
      try {
        process.emit(signal, signal)
      } finally {
        relaying = false
      }
    }, 100)
  })
  // The launcher is gone without telling (kill -9): so is the server, as abruptly.
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'))
  process.channel?.unref()
}

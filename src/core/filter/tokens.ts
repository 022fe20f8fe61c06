import type { CompareOp, Modifier } from './ast.js'

/**
 * Tokens of the filter language. A path or macro, with its dots and modifier, is one token: no
 * whitespace may appear inside `author.team.name:lower`, which keeps error positions exact.
 * `pos` is the 0-based offset of the first character, `text` the source text of the token.
 */
export type Token =
  | { kind: 'string'; value: string; pos: number; text: string }
  | { kind: 'number'; value: number; pos: number; text: string }
  | { kind: 'path'; segments: string[]; modifier?: Modifier; pos: number; text: string }
  | { kind: 'macro'; segments: string[]; modifier?: Modifier; pos: number; text: string }
  | { kind: 'op'; op: CompareOp; any: boolean; pos: number; text: string }
  | { kind: 'and' | 'or' | 'lparen' | 'rparen' | 'eof'; pos: number; text: string }

/** How an error message names a token: its text in quotes, or "the end of the filter". */
export function describeToken(token: Token): string {
  return token.kind === 'eof' ? 'the end of the filter' : JSON.stringify(token.text)
}

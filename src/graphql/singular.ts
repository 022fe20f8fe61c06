/**
 * The singular of a PascalCase name, for GraphQL record type names (`Posts` → `Post`,
 * `BlogCategories` → `BlogCategory`). Only the last word changes (a word starts at an upper-case
 * letter). The rule is English-only and deliberately small, so anyone can predict it:
 * 1. words in {@link IRREGULAR} map as listed (`People` → `Person`, `Statuses` → `Status`);
 * 2. words in {@link INVARIANT} stay as they are (`News`, `Series`, `Data`);
 * 3. `…ies` → `…y`; `…sses`, `…shes`, `…ches`, `…xes` lose `es`;
 * 4. `…ss`, `…us`, `…is` stay (`Address`, `Status`, `Analysis`); any other `…s` loses the `s`;
 * 5. anything else is taken as singular already (`Post2`, `Staff`).
 * A result shorter than two letters keeps the name as written (`Us` stays `Us`).
 * Collisions (`post` and `posts` both give `Post`) are settled by naming.ts, not here.
 *
 * @example
 *   singularize('BlogPosts') // 'BlogPost'
 *   singularize('News') // 'News'
 */
export function singularize(name: string): string {
  const start = lastWordStart(name)
  const head = name.slice(0, start)
  const word = name.slice(start)
  const single = singularWord(word.toLowerCase())
  if (single === undefined || single.length < 2) return name
  // Keep the word's own capitalisation for the part that did not change.
  const shared = commonPrefixLength(single, word.toLowerCase())
  return head + word.slice(0, shared) + single.slice(shared)
}

function singularWord(word: string): string | undefined {
  const irregular = IRREGULAR[word]
  if (irregular !== undefined) return irregular
  if (INVARIANT.has(word)) return undefined
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`
  if (/(sses|shes|ches|xes)$/.test(word)) return word.slice(0, -2)
  if (/(ss|us|is)$/.test(word)) return undefined
  if (word.endsWith('s')) return word.slice(0, -1)
  return undefined
}

function lastWordStart(name: string): number {
  for (let i = name.length - 1; i > 0; i--) {
    const char = name.charAt(i)
    const before = name.charAt(i - 1)
    // `BlogPosts` splits before `P`; `APIKeys` before `K`; `Post2s` keeps `Post2s` whole.
    if (/[A-Z]/.test(char) && /[a-z0-9_]/.test(before)) return i
    if (/[A-Z]/.test(char) && /[A-Z]/.test(before) && /[a-z]/.test(name.charAt(i + 1))) return i
  }
  return 0
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return i
}

/** Plurals the suffix rules get wrong, lower-case. */
export const IRREGULAR: Readonly<Record<string, string>> = {
  people: 'person',
  children: 'child',
  men: 'man',
  women: 'woman',
  mice: 'mouse',
  geese: 'goose',
  feet: 'foot',
  teeth: 'tooth',
  indices: 'index',
  matrices: 'matrix',
  vertices: 'vertex',
  criteria: 'criterion',
  phenomena: 'phenomenon',
  analyses: 'analysis',
  statuses: 'status',
  buses: 'bus',
  bonuses: 'bonus',
  campuses: 'campus',
  viruses: 'virus',
  quizzes: 'quiz',
  menus: 'menu',
  caches: 'cache',
  niches: 'niche',
  movies: 'movie',
  cookies: 'cookie',
  zombies: 'zombie',
  selfies: 'selfie',
  heroes: 'hero',
  potatoes: 'potato',
  tomatoes: 'tomato',
  echoes: 'echo',
  wolves: 'wolf',
  halves: 'half',
  leaves: 'leaf',
  knives: 'knife',
  lives: 'life',
  wives: 'wife',
  shelves: 'shelf',
  thieves: 'thief',
}

/** Words whose plural is the same word (or that have no singular), lower-case. */
export const INVARIANT: ReadonlySet<string> = new Set([
  'news',
  'series',
  'species',
  'data',
  'metadata',
  'media',
  'analytics',
  'physics',
  'mathematics',
  'economics',
  'politics',
  'ethics',
  'sheep',
  'fish',
  'deer',
  'information',
  'equipment',
  'feedback',
  'staff',
])

/**
 * Mail templates: `{{name}}` is replaced by a variable's value. In an HTML body the value is
 * HTML-escaped, always: there is no raw form, so a record's field (a user's name) can never
 * inject markup into a mail. Links stay valid escaped (`&` → `&amp;` is how HTML writes them).
 * Names are letters, digits and `_`, optionally under `record.` (`{{record.name}}`).
 */
const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63})?)\s*\}\}/g

/** The variable names a template text uses, in order of first use. */
export function variablesIn(text: string): string[] {
  return [...new Set([...text.matchAll(VARIABLE)].map((m) => m[1] as string))]
}

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/** Fills `text`; a variable with no value renders empty. `html` escapes each value. */
export function renderTemplate(
  text: string,
  values: Readonly<Record<string, string>>,
  html: boolean,
): string {
  return text.replace(VARIABLE, (_m, name: string) => {
    const value = Object.hasOwn(values, name) ? (values[name] as string) : ''
    return html ? escapeHtml(value) : value
  })
}

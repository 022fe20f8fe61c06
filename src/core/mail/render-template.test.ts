import { describe, expect, it } from 'vitest'
import { renderTemplate, variablesIn } from './render-template.js'

describe('mail template rendering', () => {
  it('escapes every value in HTML, none in text; unknown values render empty', () => {
    const values = { name: `<img src=x onerror="a('b')">&`, link: 'https://a.example/?x=1&y=2' }
    const template = '<p>{{name}}</p><a href="{{ link }}">go</a>{{missing}}'
    expect(renderTemplate(template, values, true)).toBe(
      '<p>&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;</p>' +
        '<a href="https://a.example/?x=1&amp;y=2">go</a>',
    )
    expect(renderTemplate('{{name}} {{link}}', values, false)).toBe(
      `<img src=x onerror="a('b')">& https://a.example/?x=1&y=2`,
    )
  })

  it('does not expand a value that itself looks like a variable', () => {
    expect(renderTemplate('{{a}}', { a: '{{b}}', b: 'secret' }, false)).toBe('{{b}}')
  })

  it('lists the variables used, once each, including record fields', () => {
    expect(variablesIn('{{a}} {{ record.name }} {{a}} {{{b}}} {{ not valid }}')).toEqual([
      'a',
      'record.name',
      'b',
    ])
  })
})

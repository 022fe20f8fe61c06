import { describe, expect, it } from 'vitest'
import { singularize } from './singular.js'

describe('singular of a PascalCase name', () => {
  it.each([
    ['Posts', 'Post'],
    ['BlogPosts', 'BlogPost'],
    ['Categories', 'Category'],
    ['Addresses', 'Address'],
    ['Boxes', 'Box'],
    ['Matches', 'Match'],
    ['Wishes', 'Wish'],
    ['Courses', 'Course'],
    ['Statuses', 'Status'],
    ['Status', 'Status'],
    ['Analysis', 'Analysis'],
    ['People', 'Person'],
    ['BlogPeople', 'BlogPerson'],
    ['Movies', 'Movie'],
    ['Caches', 'Cache'],
    ['News', 'News'],
    ['DailyNews', 'DailyNews'],
    ['Series', 'Series'],
    ['Data', 'Data'],
    ['Staff', 'Staff'],
    ['Post2', 'Post2'],
    ['Ledger', 'Ledger'],
    ['APIKeys', 'APIKey'],
    ['Us', 'Us'],
    ['S', 'S'],
    ['Superusers', 'Superuser'],
  ])('%s → %s', (plural, single) => {
    expect(singularize(plural)).toBe(single)
  })
})

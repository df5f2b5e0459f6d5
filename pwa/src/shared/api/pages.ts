// Every page of a cursor-paged list (the API's `{items, next_cursor, total}` envelope), in order.

export interface CursorPage<T> {
  items: T[]
  next_cursor?: string | null
  total?: number | null
}

/** Follows `next_cursor` to the end; stops if the server ever hands back a cursor it already gave. */
export async function allPages<T>(load: (cursor: string | undefined) => Promise<CursorPage<T>>): Promise<T[]> {
  const out: T[] = []
  const seen = new Set<string>()
  let cursor: string | undefined
  for (;;) {
    const page = await load(cursor)
    out.push(...page.items)
    if (!page.next_cursor || seen.has(page.next_cursor)) return out
    seen.add(page.next_cursor)
    cursor = page.next_cursor
  }
}

// Renders the action brief from markdown. Raw HTML in the source is escaped (html: false), and
// markdown-it refuses javascript:/vbscript:/data: links, so the output is safe to insert.
import MarkdownIt from 'markdown-it'

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: true })
const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options))
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!
  token.attrSet('target', '_blank')
  token.attrSet('rel', 'noopener noreferrer nofollow')
  return defaultLinkOpen(tokens, idx, options, env, self)
}

export function renderMarkdown(source: string): string {
  return md.render(source)
}

/** Only http(s) and same-origin links are followed (no javascript: or data: URLs from the server). */
export function safeHref(url: string): string {
  return /^(https?:\/\/|\/(?!\/))/i.test(url.trim()) ? url : '#'
}

// A validation error: once the question in error is on screen (the step changes with a transition), scroll to it
// and focus it.
export async function focusWhenShown(id: string, tries = 30): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const el = document.getElementById(id)
    if (el && el.getClientRects().length > 0) {
      el.scrollIntoView({ block: 'center' })
      el.focus({ preventScroll: true })
      return
    }
    await new Promise((r) => requestAnimationFrame(() => r(null)))
  }
}

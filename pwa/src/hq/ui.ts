// The console's snackbar: every action says it happened (with undo where there is one).
import { reactive } from 'vue'

export const snack = reactive<{ open: boolean; text: string; color: string; undo: (() => void) | null }>({
  open: false,
  text: '',
  color: '',
  undo: null,
})

export function notify(text: string, opts: { error?: boolean; undo?: () => void } = {}): void {
  snack.text = text
  snack.color = opts.error ? 'error' : ''
  snack.undo = opts.undo ?? null
  snack.open = true
}

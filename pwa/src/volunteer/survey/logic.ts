// Survey rules, independent of the UI: which questions are shown (skip logic), validation, and
// the answers sent to the server (only those on the path actually followed).
import type { AnswerValue, SurveyAnswer, SurveyQuestion } from '@shared/api/types'
import type { MessageKey } from '@shared/i18n'

export type Answers = Record<string, AnswerValue | undefined>

export function isEmpty(v: AnswerValue | undefined): boolean {
  return v === undefined || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'number' && Number.isNaN(v))
}

function matches(rule: AnswerValue, value: AnswerValue): boolean {
  if (Array.isArray(value)) return Array.isArray(rule) ? rule.length === value.length && rule.every((r) => value.includes(r)) : value.includes(String(rule))
  if (typeof value === 'number' || typeof rule === 'number') return Number(value) === Number(rule)
  return value === rule
}

/**
 * The questions on the path given the answers so far: start at the first question, follow the
 * first matching skip rule of each answered question (goto null = end of survey), otherwise go to
 * the next question. Jumps only go forward, so a bad survey cannot loop.
 */
export function visibleQuestions(questions: readonly SurveyQuestion[], answers: Answers): SurveyQuestion[] {
  const index = new Map(questions.map((q, i) => [q.id, i]))
  const out: SurveyQuestion[] = []
  let i = 0
  while (i < questions.length) {
    const q = questions[i]!
    out.push(q)
    const v = answers[q.id]
    let next = i + 1
    if (!isEmpty(v)) {
      const rule = (q.skip_logic ?? []).find((r) => matches(r.equals, v as AnswerValue))
      if (rule) {
        if (rule.goto_question_id == null) break
        const target = index.get(rule.goto_question_id)
        if (target !== undefined && target > i) next = target
      }
    }
    i = next
  }
  return out
}

export interface FieldError {
  key: MessageKey
  params?: Record<string, number>
}

export function validateQuestion(q: SurveyQuestion, v: AnswerValue | undefined): FieldError | null {
  if (isEmpty(v)) return q.required ? { key: 'survey.required' } : null
  switch (q.kind) {
    case 'number':
    case 'scale': {
      const n = typeof v === 'number' ? v : Number(v)
      if (typeof v === 'boolean' || Array.isArray(v) || Number.isNaN(n)) return { key: 'survey.number' }
      if (q.min != null && n < q.min) return { key: 'survey.min', params: { n: q.min } }
      if (q.max != null && n > q.max) return { key: 'survey.max', params: { n: q.max } }
      return null
    }
    case 'single_choice':
      return (q.options ?? []).some((o) => o.value === v) ? null : { key: 'survey.invalidOption' }
    case 'multiple_choice':
      return Array.isArray(v) && v.every((x) => (q.options ?? []).some((o) => o.value === x)) ? null : { key: 'survey.invalidOption' }
    case 'yes_no':
      return typeof v === 'boolean' ? null : { key: 'survey.invalidOption' }
    default:
      return null
  }
}

/** Errors by question id, for the visible questions only (skipped questions are never required). */
export function validateSurvey(questions: readonly SurveyQuestion[], answers: Answers): Record<string, FieldError> {
  const errors: Record<string, FieldError> = {}
  for (const q of visibleQuestions(questions, answers)) {
    const e = validateQuestion(q, answers[q.id])
    if (e) errors[q.id] = e
  }
  return errors
}

/** The answers to send: visible, non-empty, numbers as numbers. */
export function collectAnswers(questions: readonly SurveyQuestion[], answers: Answers): SurveyAnswer[] {
  const out: SurveyAnswer[] = []
  for (const q of visibleQuestions(questions, answers)) {
    const v = answers[q.id]
    if (isEmpty(v)) continue
    const value = (q.kind === 'number' || q.kind === 'scale') && typeof v === 'string' ? Number(v) : (v as AnswerValue)
    out.push({ question_id: q.id, value })
  }
  return out
}

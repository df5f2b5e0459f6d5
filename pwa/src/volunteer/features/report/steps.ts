// The guided report as a sequence of steps, recomputed from what is known so far: outcome first; if the person
// engaged, consent; if they consent, one step per survey question on the path the skip logic follows, then
// contact details, comments and opportunities. A step is named by a stable id so that a saved draft reopens at
// the same step even before the survey has loaded.
import type { Survey } from '@shared/api/types'
import { visibleQuestions } from '../../survey/logic'
import type { ReportDraft } from './draft'

export type StepId = 'outcome' | 'consent' | 'details' | 'comments' | 'opps' | `q:${string}`

export function reportSteps(outcome: string | null, engaged: string, draft: ReportDraft, survey: Survey | null): StepId[] {
  const out: StepId[] = ['outcome']
  if (outcome !== engaged) return out
  out.push('consent')
  if (!draft.consent) return out
  if (survey) for (const q of visibleQuestions(survey.questions, draft.answers)) out.push(`q:${q.id}`)
  out.push('details', 'comments', 'opps')
  return out
}

import { describe, expect, it } from 'vitest'
import type { Survey, SurveyQuestion } from '../src/shared/api/types'
import { emptyDraft } from '../src/volunteer/features/report/draft'
import { reportSteps } from '../src/volunteer/features/report/steps'

function q(id: string, over: Partial<SurveyQuestion> = {}): SurveyQuestion {
  return { id, kind: 'text', label: id, required: false, options: [], min: null, max: null, skip_logic: [], ...over }
}
const survey = {
  id: 's', title: 'S', questions: [q('a', { kind: 'yes_no', skip_logic: [{ equals: false, goto_question_id: null }] }), q('b')],
} as unknown as Survey

describe('guided report steps', () => {
  it('stops at the outcome when the person did not engage', () => {
    expect(reportSteps('absent', 'answered', emptyDraft(), survey)).toEqual(['outcome'])
  })
  it('asks consent, and only with it goes on to the survey and the rest', () => {
    const d = emptyDraft()
    expect(reportSteps('answered', 'answered', d, survey)).toEqual(['outcome', 'consent'])
    d.consent = true
    expect(reportSteps('answered', 'answered', d, survey)).toEqual(['outcome', 'consent', 'q:a', 'q:b', 'details', 'comments', 'opps'])
  })
  it('follows the skip logic: one screen per question on the path', () => {
    const d = emptyDraft()
    d.consent = true
    d.answers.a = false
    expect(reportSteps('opened', 'opened', d, survey)).toEqual(['outcome', 'consent', 'q:a', 'details', 'comments', 'opps'])
  })
})

import { describe, expect, it } from 'vitest'
import type { SurveyQuestion } from '../src/shared/api/types'
import { collectAnswers, validateSurvey, visibleQuestions } from '../src/volunteer/survey/logic'

function q(id: string, over: Partial<SurveyQuestion> = {}): SurveyQuestion {
  return { id, kind: 'text', label: id, required: false, options: [], min: null, max: null, skip_logic: [], ...over }
}

const yesNo = q('q1', { kind: 'yes_no', required: true, skip_logic: [{ equals: false, goto_question_id: 'q4' }] })
const choice = q('q2', {
  kind: 'single_choice',
  required: true,
  options: [{ value: 'a', label: 'A' }, { value: 'stop', label: 'Stop' }],
  skip_logic: [{ equals: 'stop', goto_question_id: null }],
})
const scale = q('q3', { kind: 'scale', required: true, min: 1, max: 5 })
const text = q('q4', { kind: 'text' })
const survey = [yesNo, choice, scale, text]

describe('skip logic', () => {
  it('shows every question in order when no rule applies', () => {
    expect(visibleQuestions(survey, {}).map((x) => x.id)).toEqual(['q1', 'q2', 'q3', 'q4'])
    expect(visibleQuestions(survey, { q1: true, q2: 'a' }).map((x) => x.id)).toEqual(['q1', 'q2', 'q3', 'q4'])
  })
  it('jumps to the target question', () => {
    expect(visibleQuestions(survey, { q1: false }).map((x) => x.id)).toEqual(['q1', 'q4'])
  })
  it('ends the survey when the target is null', () => {
    expect(visibleQuestions(survey, { q1: true, q2: 'stop' }).map((x) => x.id)).toEqual(['q1', 'q2'])
  })
  it('ignores backward jumps so a bad survey cannot loop', () => {
    const loop = [q('a', { skip_logic: [{ equals: 'x', goto_question_id: 'a' }] }), q('b')]
    expect(visibleQuestions(loop, { a: 'x' }).map((x) => x.id)).toEqual(['a', 'b'])
  })
  it('matches numbers and multiple choices', () => {
    const s = [
      q('n', { kind: 'scale', min: 1, max: 5, skip_logic: [{ equals: 5, goto_question_id: 'z' }] }),
      q('m', { kind: 'multiple_choice', options: [{ value: 'x', label: 'X' }], skip_logic: [{ equals: 'x', goto_question_id: 'z' }] }),
      q('y'),
      q('z'),
    ]
    expect(visibleQuestions(s, { n: '5' }).map((x) => x.id)).toEqual(['n', 'z'])
    expect(visibleQuestions(s, { m: ['x'] }).map((x) => x.id)).toEqual(['n', 'm', 'z'])
  })
})

describe('survey validation', () => {
  it('requires the required visible questions only', () => {
    expect(Object.keys(validateSurvey(survey, {}))).toEqual(['q1', 'q2', 'q3'])
    expect(validateSurvey(survey, { q1: false })).toEqual({})
  })
  it('checks the range of numbers and scales', () => {
    expect(validateSurvey(survey, { q1: true, q2: 'a', q3: 9 })['q3']).toEqual({ key: 'survey.max', params: { n: 5 } })
    expect(validateSurvey(survey, { q1: true, q2: 'a', q3: 0 })['q3']).toEqual({ key: 'survey.min', params: { n: 1 } })
    expect(validateSurvey(survey, { q1: true, q2: 'a', q3: 'abc' })['q3']).toEqual({ key: 'survey.number' })
    expect(validateSurvey(survey, { q1: true, q2: 'a', q3: 3 })).toEqual({})
  })
  it('rejects an option that is not offered', () => {
    expect(validateSurvey(survey, { q1: true, q2: 'zzz', q3: 3 })['q2']).toEqual({ key: 'survey.invalidOption' })
  })
  it('treats an empty multiple choice as missing', () => {
    const s = [q('m', { kind: 'multiple_choice', required: true, options: [{ value: 'x', label: 'X' }] })]
    expect(validateSurvey(s, { m: [] })['m']).toEqual({ key: 'survey.required' })
  })
  it('sends only the answers on the path followed, numbers as numbers', () => {
    expect(collectAnswers(survey, { q1: false, q2: 'a', q3: '4', q4: 'hello' })).toEqual([
      { question_id: 'q1', value: false },
      { question_id: 'q4', value: 'hello' },
    ])
    expect(collectAnswers(survey, { q1: true, q2: 'a', q3: '4', q4: '' })).toEqual([
      { question_id: 'q1', value: true },
      { question_id: 'q2', value: 'a' },
      { question_id: 'q3', value: 4 },
    ])
  })
})

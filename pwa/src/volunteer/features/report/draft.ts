// The part of a call report / door visit shared by both flows: survey, contact details,
// conversation and opportunities. Turned into the API body by buildReportExtras.
import type { ContactCard, ContactUpdates, OpportunityCreate, Survey, SurveyAnswer } from '@shared/api/types'
import { collectAnswers, validateSurvey, type Answers, type FieldError } from '../../survey/logic'

export type ConsentChoice = '' | 'granted' | 'withdrawn'

export interface ReportDraft {
  consent: boolean
  answers: Answers
  details: {
    email: string
    mobile: string
    support_level: number | null
    consents: { email: ConsentChoice; sms: ConsentChoice; phone: ConsentChoice }
  }
  comment: string
  quality: number | null
  mobilized: boolean | null
  opportunities: { type_id: string; note: string; name: string }[]
}

export function emptyDraft(contact?: ContactCard | null): ReportDraft {
  return {
    consent: false,
    answers: {},
    details: {
      email: contact?.email ?? '',
      mobile: '',
      support_level: contact?.support_level ?? null,
      consents: { email: '', sms: '', phone: '' },
    },
    comment: '',
    quality: null,
    mobilized: null,
    opportunities: [],
  }
}

export interface ReportExtras {
  survey_answers?: SurveyAnswer[]
  contact_updates?: ContactUpdates
  comment?: string
  quality?: number
  mobilized?: boolean
  opportunities?: OpportunityCreate[]
}

export function validateDraft(draft: ReportDraft, survey: Survey | null): Record<string, FieldError> {
  if (!draft.consent || !survey) return {}
  return validateSurvey(survey.questions, draft.answers)
}

/** Everything beyond the outcome; only sent when the person consented. */
export function buildReportExtras(draft: ReportDraft, survey: Survey | null, contact?: ContactCard | null): ReportExtras {
  if (!draft.consent) return {}
  const out: ReportExtras = {}
  if (survey) {
    const answers = collectAnswers(survey.questions, draft.answers)
    if (answers.length) out.survey_answers = answers
  }
  const u: ContactUpdates = {}
  const email = draft.details.email.trim()
  if (email && email !== (contact?.email ?? '')) u.email = email
  const mobile = draft.details.mobile.trim()
  if (mobile) u.mobile = mobile
  if (draft.details.support_level !== null && draft.details.support_level !== (contact?.support_level ?? null)) u.support_level = draft.details.support_level
  const consents: NonNullable<ContactUpdates['consents']> = {}
  for (const ch of ['email', 'sms', 'phone'] as const) {
    const v = draft.details.consents[ch]
    if (v) consents[ch] = v
  }
  if (Object.keys(consents).length) u.consents = consents
  if (Object.keys(u).length) out.contact_updates = u
  if (draft.comment.trim()) out.comment = draft.comment.trim()
  if (draft.quality !== null) out.quality = draft.quality
  if (draft.mobilized !== null) out.mobilized = draft.mobilized
  if (draft.opportunities.length)
    out.opportunities = draft.opportunities.map((o) => ({ type_id: o.type_id, note: o.note.trim() }))
  return out
}

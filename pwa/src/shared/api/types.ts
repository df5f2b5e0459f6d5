// The one place mapping the generated OpenAPI types to the names the app uses. Types are taken
// from the paths (the stable public contract), not from schema names, so a renamed schema on the
// backend changes nothing here.
import type { paths } from '../../api/schema'

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never
type Op<P extends keyof paths, M extends keyof paths[P]> = NonNullable<paths[P][M]>
/** The JSON body of the success response (200 or 201). */
export type Res<P extends keyof paths, M extends keyof paths[P]> =
  Op<P, M> extends { responses: infer R } ? Json<R[200 & keyof R]> | Json<R[201 & keyof R]> : never
/** The JSON request body. */
export type Req<P extends keyof paths, M extends keyof paths[P]> =
  Op<P, M> extends { requestBody?: infer B } ? Json<NonNullable<B>> : never

export type Me = Res<'/api/v1/me', 'get'>
export type Token = Res<'/api/v1/auth/login', 'post'>
export type AppConfig = Res<'/api/v1/config', 'get'>
export type Action = Res<'/api/v1/actions/{action_id}', 'get'>
export type ParticipationStatus = Req<'/api/v1/actions/{action_id}/participation', 'put'>['status']
export type CallTarget = Res<'/api/v1/actions/{action_id}/calls/next', 'post'>
export type OthersSummary = Res<'/api/v1/actions/{action_id}/calls/others/members', 'get'>
export type MyReport = Res<'/api/v1/actions/{action_id}/reports/mine', 'get'>[number]
export type ReportCorrection = Req<'/api/v1/reports/{report_id}/corrections', 'post'>
export type P2PText = Res<'/api/v1/actions/{action_id}/contacts/{contact_id}/p2p-text', 'get'>
export type CallStart = Res<'/api/v1/calls/{target_id}/start', 'post'>
export type ContactCard = CallStart['contact']
export type CallReportCreate = Req<'/api/v1/calls/{target_id}/report', 'post'>
export type CallOutcome = CallReportCreate['outcome']
export type VisitCreate = Req<'/api/v1/actions/{action_id}/visits', 'post'>
export type VisitOutcome = VisitCreate['outcome']
export type NewContact = NonNullable<VisitCreate['new_contact']>
export type Survey = Res<'/api/v1/surveys/{survey_id}', 'get'>
export type SurveyQuestion = Survey['questions'][number]
export type SurveyAnswer = NonNullable<CallReportCreate['survey_answers']>[number]
export type AnswerValue = SurveyAnswer['value']
export type ContactUpdates = NonNullable<CallReportCreate['contact_updates']>
export type OpportunityCreate = NonNullable<CallReportCreate['opportunities']>[number]
export type OpportunityType = Res<'/api/v1/opportunity-types', 'get'>[number]
export type Opportunity = Res<'/api/v1/opportunities', 'get'>['items'][number]
export type OpportunityStatus = Opportunity['status']
export type WalkList = Res<'/api/v1/actions/{action_id}/walklist', 'get'>
export type Street = WalkList['streets'][number]
export type Building = Street['buildings'][number]
export type Household = Building['households'][number]

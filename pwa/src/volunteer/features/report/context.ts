// What both flows load besides their own target: the action's survey and the opportunity types. Either may be
// missing offline; the outcome can still be recorded without them.
import { ref, type Ref } from 'vue'
import type { Action, OpportunityType, Survey } from '@shared/api/types'
import { getAction, getSurvey, listOpportunityTypes } from '../../offline/server'

export function useReportContext(actionId: string): {
  action: Ref<Action | null>
  survey: Ref<Survey | null>
  types: Ref<OpportunityType[]>
  /** Survey and types loaded (or known to be unavailable): the steps are final. */
  loaded: Ref<boolean>
  load: () => Promise<void>
} {
  const action = ref<Action | null>(null)
  const survey = ref<Survey | null>(null)
  const types = ref<OpportunityType[]>([])
  const loaded = ref(false)
  async function load(): Promise<void> {
    try {
      action.value = (await getAction(actionId)).data
      if (action.value.survey_id) survey.value = (await getSurvey(action.value.survey_id)).data
    } catch {
      /* no survey available offline */
    }
    try {
      types.value = (await listOpportunityTypes()).data
    } catch {
      types.value = []
    }
    loaded.value = true
  }
  return { action, survey, types, loaded, load }
}

// The organization named in consent texts: its legal name (an admin setting), else its name. From /me, kept on
// the device like every read, so the consent text is right offline too.
import { ref } from 'vue'
import { getMe } from '../../offline/server'

export const orgName = ref('')
let loading: Promise<void> | null = null

export function loadOrgName(): Promise<void> {
  loading ??= getMe()
    .then((r) => {
      orgName.value = r.data.organization.legal_name || r.data.organization.name
    })
    .catch(() => {
      loading = null
    })
  return loading
}

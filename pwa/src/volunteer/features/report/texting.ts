// Peer-to-peer texting: the action's text for this person, from the server (which checks their SMS consent), opened
// in the phone's SMS app with an `sms:` link; the tap is logged on the person's timeline through the outbox.
import { t } from '@shared/i18n'
import { ApiError, logText, NetworkError, prepareText, settleOutbox } from '../../offline/server'
import { showSnack } from '../../ui'

export async function textThem(actionId: string, contactId: string, name?: string): Promise<void> {
  try {
    await settleOutbox() // the report first: the server texts only people one called or visited
    const text = await prepareText(actionId, contactId)
    await logText(actionId, contactId, name)
    showSnack(t('field3.textLogged'))
    window.location.href = text.sms_link
  } catch (e) {
    showSnack(e instanceof NetworkError ? t('field3.textOffline') : e instanceof ApiError ? e.message : String(e))
  }
}

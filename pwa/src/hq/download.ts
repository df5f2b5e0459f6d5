// The one download helper lives in shared/ (the volunteer app uses it too).
export { downloadAuthed } from '@shared/api/download'

// Vuetify: Material components (tables with server-side paging, dialogs, menus, pickers, steppers)
// with SVG icons from @mdi/js (only the icons used are bundled, no icon font).
import 'vuetify/styles'
import { createVuetify } from 'vuetify'
import { aliases, mdi } from 'vuetify/iconsets/mdi-svg'

export const vuetify = createVuetify({
  icons: { defaultSet: 'mdi', aliases, sets: { mdi } },
  theme: {
    defaultTheme: 'light',
    themes: {
      light: {
        // warning: Vuetify's orange (#FB8C00) reads at 1.9:1 on its own tonal alert; this amber at 4.8:1.
        colors: { primary: '#4F378B', secondary: '#625B71', error: '#B3261E', warning: '#8A5300', surface: '#FFFFFF', background: '#F7F2FA' },
      },
    },
  },
  defaults: {
    VTextField: { variant: 'outlined', density: 'comfortable' },
    VSelect: { variant: 'outlined', density: 'comfortable' },
    VAutocomplete: { variant: 'outlined', density: 'comfortable' },
    VCombobox: { variant: 'outlined', density: 'comfortable' },
    VTextarea: { variant: 'outlined', density: 'comfortable' },
  },
})

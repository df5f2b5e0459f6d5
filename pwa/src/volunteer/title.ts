// Screens may override the app bar title (e.g. with the action's title); reset on navigation.
import { ref } from 'vue'
export const pageTitle = ref<string | null>(null)

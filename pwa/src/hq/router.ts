import { createRouter, createWebHistory } from 'vue-router'
import { getToken } from '@shared/session'
import type { HqKey } from './i18n'
import { can, loadMe, me, MANAGERS, STAFF, type Role } from './me'

declare module 'vue-router' {
  interface RouteMeta {
    hqTitle?: HqKey
    public?: boolean
    roles?: readonly Role[]
  }
}

const ADMIN: Role[] = ['admin']

export const router = createRouter({
  history: createWebHistory('/hq/'),
  routes: [
    { path: '/login', component: () => import('./pages/LoginPage.vue'), meta: { public: true, hqTitle: 'login.title' } },
    { path: '/refused', component: () => import('./pages/RefusedPage.vue'), meta: { public: true, hqTitle: 'refused.title' } },
    { path: '/', component: () => import('./pages/OverviewPage.vue'), meta: { roles: STAFF, hqTitle: 'nav.overview' } },
    { path: '/contacts', component: () => import('./pages/ContactsPage.vue'), meta: { roles: STAFF, hqTitle: 'nav.contacts' } },
    { path: '/contacts/:id', component: () => import('./pages/ContactPage.vue'), meta: { roles: STAFF, hqTitle: 'contact.title' } },
    { path: '/map', component: () => import('./pages/MapPage.vue'), meta: { roles: STAFF, hqTitle: 'nav.map' } },
    { path: '/actions', component: () => import('./pages/ActionsPage.vue'), meta: { roles: STAFF, hqTitle: 'nav.actions' } },
    { path: '/actions/new', component: () => import('./pages/ActionWizard.vue'), meta: { roles: STAFF, hqTitle: 'wizard.title' } },
    { path: '/actions/:id', component: () => import('./pages/ActionPage.vue'), meta: { roles: STAFF, hqTitle: 'action.title' } },
    // Live dashboard (#15): an action's dashboard, the leaderboards and team view, the support and coverage maps.
    { path: '/actions/:id/dashboard', component: () => import('./pages/ActionDashboardPage.vue'), meta: { roles: STAFF, hqTitle: 'dash.actionPageTitle' } },
    { path: '/leaderboards', component: () => import('./pages/LeaderboardsPage.vue'), meta: { roles: STAFF, hqTitle: 'dash.boardsTitle' } },
    { path: '/dashboard/map', component: () => import('./pages/DashboardMapPage.vue'), meta: { roles: STAFF, hqTitle: 'dash.mapTitle' } },
    { path: '/surveys', component: () => import('./pages/SurveysPage.vue'), meta: { roles: MANAGERS, hqTitle: 'nav.surveys' } },
    { path: '/tasks', component: () => import('./pages/TasksPage.vue'), meta: { roles: STAFF, hqTitle: 'nav.tasks' } },
    { path: '/teams', component: () => import('./pages/TeamsPage.vue'), meta: { roles: STAFF, hqTitle: 'nav.teams' } },
    { path: '/imports', component: () => import('./pages/ImportsPage.vue'), meta: { roles: MANAGERS, hqTitle: 'nav.imports' } },
    { path: '/messaging', component: () => import('./pages/MessagingPage.vue'), meta: { roles: MANAGERS, hqTitle: 'nav.messaging' } },
    { path: '/petitions', component: () => import('./pages/PetitionsPage.vue'), meta: { roles: MANAGERS, hqTitle: 'nav.petitions' } },
    { path: '/integrations', component: () => import('./pages/IntegrationsPage.vue'), meta: { roles: ADMIN, hqTitle: 'nav.integrations' } },
    { path: '/settings', component: () => import('./pages/SettingsPage.vue'), meta: { roles: ADMIN, hqTitle: 'nav.settings' } },
    { path: '/:pathMatch(.*)*', redirect: '/' },
  ],
})

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!getToken()) return { path: '/login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  if (!me.value) {
    try {
      await loadMe()
    } catch {
      return { path: '/login', query: { next: to.fullPath } }
    }
  }
  if (me.value?.role === 'volunteer') return '/refused'
  if (!can(to.meta.roles)) return '/'
  return true
})

import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router'
import type { MessageKey } from '@shared/i18n'
import { getToken } from '@shared/session'

declare module 'vue-router' {
  interface RouteMeta {
    title?: MessageKey
    public?: boolean
    nav?: boolean
    back?: (to: RouteLocationNormalized) => string
  }
}

export const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    { path: '/', redirect: '/actions' },
    { path: '/login', component: () => import('./features/auth/LoginScreen.vue'), meta: { title: 'login.title', public: true } },
    { path: '/join/:token', component: () => import('./features/auth/JoinScreen.vue'), meta: { title: 'join.title', public: true } },
    { path: '/actions', component: () => import('./features/actions/ActionsScreen.vue'), meta: { title: 'actions.title', nav: true } },
    {
      path: '/actions/:id',
      component: () => import('./features/actions/ActionDetailScreen.vue'),
      meta: { nav: true, back: () => '/actions' },
    },
    {
      path: '/actions/:id/calls',
      component: () => import('./features/calling/CallListScreen.vue'),
      meta: { title: 'calls.title', nav: true, back: (to) => `/actions/${String(to.params.id)}` },
    },
    {
      path: '/actions/:id/calls/:targetId',
      component: () => import('./features/calling/CallFlowScreen.vue'),
      meta: { title: 'call.title', back: (to) => `/actions/${String(to.params.id)}/calls` },
    },
    {
      path: '/actions/:id/walk',
      component: () => import('./features/canvassing/WalkListScreen.vue'),
      meta: { title: 'walk.title', nav: true, back: (to) => `/actions/${String(to.params.id)}` },
    },
    {
      path: '/actions/:id/door/:targetId',
      component: () => import('./features/canvassing/DoorFlowScreen.vue'),
      meta: { title: 'door.title', back: (to) => `/actions/${String(to.params.id)}/walk` },
    },
    {
      path: '/actions/:id/petition',
      component: () => import('./features/petition/PetitionSignScreen.vue'),
      meta: { title: 'petition.title', back: (to) => `/actions/${String(to.params.id)}` },
    },
    { path: '/tasks', component: () => import('./features/tasks/TasksScreen.vue'), meta: { title: 'tasks.title', nav: true } },
    { path: '/profile', component: () => import('./features/profile/ProfileScreen.vue'), meta: { title: 'profile.title', nav: true } },
    { path: '/:pathMatch(.*)*', redirect: '/actions' },
  ],
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})

router.beforeEach((to) => {
  if (!to.meta.public && !getToken()) return { path: '/login', query: to.fullPath !== '/actions' ? { next: to.fullPath } : {} }
  if (to.path === '/login' && getToken()) return '/actions'
  return true
})

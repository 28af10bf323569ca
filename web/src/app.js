// Smelt's browser app: entry point. Wires the views to hash routes
// (router.js) and keeps the header in step with the session.
import { parseRoute } from './router.js';
import { smeltIdFromQuery } from './storage.js';
import { navigate, session } from './context.js';
import { getConfig } from './endpoints.js';
import { loadLimits } from './limits.js';
import { loadCatalogue } from './speech.js';
import { initHeader, markCurrentNav } from './views/header.js';
import { createView } from './views/create.js';
import { smeltView } from './views/smelt.js';
import { loginView, signupView } from './views/auth.js';
import { historyView } from './views/history.js';
import { accountView } from './views/account.js';

const VIEWS = {
  create: { section: 'view-create', view: createView, title: 'Smelt: recordings and text into notes', focus: null },
  smelt: { section: 'view-smelt', view: smeltView, title: 'Smelt: progress and notes', focus: null },
  login: { section: 'view-login', view: loginView, title: 'Log in · Smelt', focus: 'login-heading' },
  signup: { section: 'view-signup', view: signupView, title: 'Sign up · Smelt', focus: 'signup-heading' },
  history: { section: 'view-history', view: historyView, title: 'History · Smelt', focus: 'history-heading', reentrant: true },
  account: { section: 'view-account', view: accountView, title: 'Account · Smelt', focus: 'account-heading' },
  'not-found': { section: 'view-not-found', view: null, title: 'Not found · Smelt', focus: 'not-found-heading' },
};

let current = null; // {name, key}

function show(route) {
  const entry = VIEWS[route.name];
  const key = `${route.name}:${route.params.id ?? ''}`;
  const same = current && current.name === route.name;
  if (same && current.key === key && !entry.reentrant) return;
  if (current && !(same && entry.reentrant)) VIEWS[current.name].view?.unmount?.();
  for (const [name, e] of Object.entries(VIEWS)) document.getElementById(e.section).hidden = name !== route.name;
  document.body.dataset.view = route.name;
  document.title = entry.title;
  markCurrentNav(route.name);
  const first = !current;
  current = { name: route.name, key };
  entry.view?.mount?.(route.params, route.query);
  // Moving focus to the new page's heading tells screen readers the page changed;
  // on the first load the browser's own focus handling is left alone.
  if (!first && entry.focus && !same) document.getElementById(entry.focus)?.focus();
}

function onRoute() {
  show(parseRoute(window.location.hash));
}

function init() {
  // GET /api/config once: the upload limits (the built-in ones apply until, or unless, they
  // arrive) and the speech models (no speech choices until they do).
  const config = getConfig(session);
  loadLimits(() => config);
  loadCatalogue(() => config);
  for (const { view } of Object.values(VIEWS)) view?.init?.();
  initHeader({
    onSignedOut: () => {
      if (current && ['history', 'account'].includes(current.name)) navigate('login', {}, { next: current.name }, { replace: true });
    },
  });
  // Old links (/?smelt=<id>) open the smelt's page.
  const legacy = smeltIdFromQuery();
  if (legacy) {
    const url = new URL(window.location.href);
    url.searchParams.delete('smelt');
    url.hash = `#/smelts/${encodeURIComponent(legacy)}`;
    window.history.replaceState(null, '', url);
  }
  window.addEventListener('hashchange', onRoute);
  onRoute();
}

init();

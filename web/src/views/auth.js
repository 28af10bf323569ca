// Log in and sign up. Both store the session and go on to where the user was
// heading (`?next=` route name) or to the create page.
import { byId, showInlineError } from '../dom.js';
import { validateCredentials } from '../validation.js';
import { login, signup } from '../endpoints.js';
import { navigate, session } from '../context.js';

const NEXT_ROUTES = new Set(['history', 'account', 'create']);

function bindForm({ form, email, password, error, isSignup }) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const credentials = { email: email.value.trim(), password: password.value };
    const problem = validateCredentials(credentials, { signup: isSignup });
    if (problem) {
      showInlineError(error, problem);
      (problem.startsWith('INVALID EMAIL') ? email : password).focus();
      return;
    }
    showInlineError(error, '');
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await (isSignup ? signup : login)(session, credentials);
      form.reset();
      const next = new URLSearchParams(window.location.hash.split('?')[1] || '').get('next');
      navigate(NEXT_ROUTES.has(next) ? next : 'create');
    } catch (err) {
      showInlineError(error, err.message);
      password.focus();
    } finally {
      button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
}

/** The login page. */
export const loginView = {
  /** Wires the form; once at start-up. */
  init() {
    bindForm({ form: byId('login-form'), email: byId('login-email'), password: byId('login-password'), error: byId('login-error'), isSignup: false });
  },
  /** Shows the page (signed-in users have nothing to do here). */
  mount() {
    if (session.isSignedIn()) navigate('create', {}, {}, { replace: true });
  },
  unmount() {
    showInlineError(byId('login-error'), '');
  },
};

/** The sign-up page. */
export const signupView = {
  /** Wires the form; once at start-up. */
  init() {
    bindForm({ form: byId('signup-form'), email: byId('signup-email'), password: byId('signup-password'), error: byId('signup-error'), isSignup: true });
  },
  /** Shows the page (signed-in users have nothing to do here). */
  mount() {
    if (session.isSignedIn()) navigate('create', {}, {}, { replace: true });
  },
  unmount() {
    showInlineError(byId('signup-error'), '');
  },
};

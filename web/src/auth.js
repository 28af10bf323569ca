// The single place where the page learns about the signed-in user.
// Accounts come later: until then every request is anonymous. When they land,
// return the JWT from here and every API call picks it up via authHeaders().

export function getAuthToken() {
  return null;
}

export function isSignedIn() {
  return getAuthToken() !== null;
}

/** Headers to add to every API request. */
export function authHeaders() {
  const token = getAuthToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// The JSON API (README, "Web view"), with the bearer token this tab was
// given (sessionStorage: the tab only, never a cookie).
const TOKEN_KEY = 'factlog-token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}
export function authHeaders() {
  const t = token();
  return t ? {Authorization: `Bearer ${t}`} : {};
}

async function call(method, path, body) {
  const headers = {...authHeaders(), Accept: 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`/api/v1/${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store', credentials: 'omit',
  });
  let json = null;
  try {
    json = await response.json();
  } catch (e) {
    throw new ApiError(response.status, 'UNKNOWN', `HTTP ${response.status}`);
  }
  if (!response.ok) {
    throw new ApiError(response.status, json.code || 'UNKNOWN',
                       json.message || `HTTP ${response.status}`);
  }
  return json;
}

// GET path?params (params: an object; arrays repeat the parameter).
export function get(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const item of Array.isArray(v) ? v : [v]) query.append(k, item);
  }
  const q = query.toString();
  return call('GET', q ? `${path}?${q}` : path);
}

export function post(path, body) {
  return call('POST', path, body);
}

export const enc = encodeURIComponent;

// A fresh request id for a command (its retry is then harmless).
export function requestId() {
  return `web-${crypto.randomUUID()}`;
}

// The server's JSON endpoints (/api/*, /demo/credential) answer {ok: true, ...} or
// {ok: false, error: {code, message}} (docs/protocol.md, "HTTP endpoints"). One reader for all.

/**
 * fetch() of a JSON endpoint. `userSig` goes in the Authorization header, `body` is sent as JSON
 * (and makes the default method POST); any other option goes to fetch() as it is.
 * Resolves with the answer's body. Rejects with an Error whose `code` is the server's error code,
 * else `HTTP_<status>` (an answer that is not ours, e.g. from a proxy), or `NETWORK` when no answer
 * came; `status` is the HTTP status (0 without an answer); `field`, where the answer names one,
 * is the request's key at fault (the admin API's refusals).
 */
export async function fetchJSON(url, { userSig, body, headers, ...init } = {}) {
  const request = { method: body === undefined ? 'GET' : 'POST', ...init, headers: { ...headers } };
  if (userSig) request.headers.Authorization = `Bearer ${userSig}`;
  if (body !== undefined) {
    request.headers['Content-Type'] = 'application/json';
    request.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, request);
  } catch (err) {
    throw apiError('NETWORK', `no answer from the server (${err.message})`, 0);
  }
  let answer = null;
  try { answer = await res.json(); } catch (err) { /* not JSON: judged by its status below */ }
  if (!res.ok || !answer || answer.ok !== true) {
    const e = (answer && answer.error) || {};
    const error = apiError(e.code || `HTTP_${res.status}`, e.message || `HTTP ${res.status}`, res.status);
    if (typeof e.field === 'string') error.field = e.field;
    throw error;
  }
  return answer;
}

function apiError(code, message, status) {
  return Object.assign(new Error(message), { code, status });
}

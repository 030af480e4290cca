// Live updates: /api/v1/events (Server-Sent Events) read with fetch, so
// that the bearer token goes in a header (EventSource cannot send one).
// Like EventSource it reconnects after the stream ends, sending the last
// event id it saw as Last-Event-ID: the server resumes after that position,
// with no gap and no repeat, also after it restarted.

const indicator = () => document.getElementById('live');

function setLive(text, state) {
  const el = indicator();
  if (!el) return;
  el.textContent = text;
  el.dataset.state = state;
}

// Subscribes with `params` (SubscribeRequest fields: fromPosition,
// filter.claimId, ...) and calls onMessage(name, data, id) for each
// message. Returns a function that stops it.
export function subscribe(params, onMessage, {authHeaders} = {}) {
  let lastId = '';
  let stopped = false;
  let controller = null;
  let retry = 1000;

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      const query = new URLSearchParams(params).toString();
      const headers = {...(authHeaders ? authHeaders() : {}),
                       Accept: 'text/event-stream'};
      if (lastId) headers['Last-Event-ID'] = lastId;
      try {
        const response = await fetch(`/api/v1/events?${query}`, {
          headers, signal: controller.signal, cache: 'no-store',
          credentials: 'omit',
        });
        if (!response.ok) {
          const err = await response.json().catch(() => ({}));
          setLive(`live updates refused: ${err.message || response.status}`,
                  'error');
          if (response.status === 401 || response.status === 403) return;
        } else {
          setLive('live', 'live');
          await read(response.body);
        }
      } catch (e) {
        if (stopped) return;
      }
      if (stopped) return;
      setLive('reconnecting…', 'reconnecting');
      await new Promise((resolve) => setTimeout(resolve, retry));
    }
  }

  async function read(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, {stream: true});
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        dispatch(block);
      }
    }
  }

  function dispatch(block) {
    let name = 'message', data = '', id = null;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') id = value;
      else if (field === 'event') name = value;
      else if (field === 'data') data += data ? `\n${value}` : value;
      else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
    }
    if (id !== null) lastId = id;
    if (!data) return;
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch (e) {
      return;
    }
    onMessage(name, parsed, id);
  }

  run();
  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}

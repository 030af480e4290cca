// The board: every claim with its status, claimant, subject and last
// change; counts by status; filters and search; live updates.
import {get, enc, authHeaders} from './api.js';
import {h, fill, statusBadge, statusWord, STATUSES, when, link, claimHref,
        claimantHref} from './dom.js';
import {subscribe} from './events.js';

const MAX_CLAIMS = 5000;

async function allClaims(params) {
  const claims = [];
  let pageToken = '';
  do {
    const page = await get('claims', {...params, pageSize: 1000, pageToken});
    claims.push(...(page.claims || []));
    pageToken = page.nextPageToken || '';
  } while (pageToken && claims.length < MAX_CLAIMS);
  return claims;
}

function row(claim, fresh) {
  return h('tr', {'data-claim-id': claim.claimId, class: fresh ? 'fresh' : null},
    h('td', {}, statusBadge(claim.status, claim.rating)),
    h('td', {class: 'text'}, link(claimHref(claim.claimId), claim.text)),
    h('td', {}, link(claimantHref(claim.claimant), claim.claimant)),
    h('td', {}, claim.subject),
    h('td', {}, h('time', {datetime: claim.updatedAt}, when(claim.updatedAt))));
}

export async function renderBoard(app, stops) {
  const params = new URLSearchParams(location.search);
  const filters = {
    status: params.get('status') || '',
    subject: params.get('subject') || '',
    claimant: params.get('claimant') || '',
    query: params.get('q') || '',
  };
  const head = await get('log/head');
  const subjects = await get('subjects', {pageSize: 1000});
  let claims;
  let searchNote = null;
  if (filters.query) {
    const found = await get('search', {query: filters.query, pageSize: 100,
                                       status: filters.status || undefined});
    const hits = found.hits || [];
    claims = await Promise.all(hits.map((hit) => get(`claims/${enc(hit.claimId)}`)));
    searchNote = h('p', {class: 'note'},
                   `${hits.length} match(es) for “`, filters.query, '”');
  } else {
    claims = await allClaims({status: filters.status, subject: filters.subject,
                              claimant: filters.claimant});
  }
  const byId = new Map(claims.map((c) => [c.claimId, c]));
  const counts = h('ul', {class: 'counts', 'aria-label': 'Claims by status'});
  const tbody = h('tbody');

  function renderCounts() {
    const n = new Map();
    for (const c of byId.values()) n.set(c.status, (n.get(c.status) || 0) + 1);
    fill(counts, h('li', {class: 'count-total'}, h('strong', {}, String(byId.size)),
                   ' claims'),
         STATUSES.filter((s) => n.get(s)).map((s) =>
             h('li', {class: `count status-${statusWord(s)}`,
                      'data-status': statusWord(s)},
               h('strong', {}, String(n.get(s))), ` ${statusWord(s)}`)));
  }
  function renderRows(freshId) {
    const sorted = [...byId.values()].sort((a, b) =>
        (b.updatedAt || '').localeCompare(a.updatedAt || '') ||
        a.claimId.localeCompare(b.claimId));
    fill(tbody, sorted.map((c) => row(c, c.claimId === freshId)));
  }

  const statusSelect = h('select', {id: 'f-status', name: 'status'},
    h('option', {value: ''}, 'any status'),
    STATUSES.map((s) => h('option', {value: s, selected: s === filters.status},
                          statusWord(s))));
  const subjectSelect = h('select', {id: 'f-subject', name: 'subject'},
    h('option', {value: ''}, 'any subject'),
    (subjects.subjects || []).map((s) => h('option',
        {value: s.subject, selected: s.subject === filters.subject}, s.subject)));
  const form = h('form', {class: 'filters', role: 'search', action: '/', method: 'get'},
    h('label', {for: 'f-q'}, 'Search'),
    h('input', {id: 'f-q', name: 'q', type: 'search', value: filters.query,
                placeholder: 'words in claims'}),
    h('label', {for: 'f-status'}, 'Status'), statusSelect,
    h('label', {for: 'f-subject'}, 'Subject'), subjectSelect,
    h('label', {for: 'f-claimant'}, 'Claimant'),
    h('input', {id: 'f-claimant', name: 'claimant', value: filters.claimant}),
    h('button', {type: 'submit'}, 'Apply'));

  fill(app,
       h('h1', {}, 'Claims'),
       counts, form, searchNote,
       h('table', {class: 'board'},
         h('caption', {class: 'visually-hidden'}, 'Claims, latest change first'),
         h('thead', {}, h('tr', {},
           h('th', {scope: 'col'}, 'Status'), h('th', {scope: 'col'}, 'Claim'),
           h('th', {scope: 'col'}, 'Claimant'), h('th', {scope: 'col'}, 'Subject'),
           h('th', {scope: 'col'}, 'Last change'))),
         tbody));
  renderCounts();
  renderRows(null);

  const matches = (c) => (!filters.status || c.status === filters.status) &&
      (!filters.subject || c.subject === filters.subject) &&
      (!filters.claimant || c.claimant === filters.claimant) &&
      (!filters.query || byId.has(c.claimId));
  // From the head read before the list: nothing missed, at worst a claim
  // fetched twice.
  stops.push(subscribe({fromPosition: head.treeSize || '0'}, async (name, data) => {
    if (name !== 'event') return;
    const id = data.event.claimId;
    try {
      const claim = await get(`claims/${enc(id)}`);
      if (matches(claim)) byId.set(id, claim);
      else byId.delete(id);
      renderCounts();
      renderRows(id);
    } catch (e) { /* a claim gone from view: the next event says more */ }
  }, {authHeaders}));
}

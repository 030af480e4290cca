// Promises: due, overdue (live: the server's overdue notices), kept and
// broken.
import {get, enc, authHeaders} from './api.js';
import {h, fill, statusBadge, when, link, claimHref, claimantHref} from './dom.js';
import {subscribe} from './events.js';

function group(claim) {
  if (claim.rating === 'RATING_KEPT') return 'kept';
  if (claim.rating === 'RATING_BROKEN') return 'broken';
  if (claim.status === 'CLAIM_STATUS_OVERDUE') return 'overdue';
  if (claim.status === 'CLAIM_STATUS_RATED' || claim.status === 'CLAIM_STATUS_RETRACTED') {
    return 'other';
  }
  return 'due';
}
const TITLES = {overdue: 'Overdue', due: 'Due', kept: 'Kept', broken: 'Broken',
                other: 'Otherwise settled'};

export async function renderPromises(app, stops) {
  const box = h('div');
  fill(app, h('h1', {}, 'Promises'), box);
  async function draw() {
    const page = await get('claims', {kind: 'CLAIM_KIND_PROMISE', pageSize: 1000});
    const groups = new Map(Object.keys(TITLES).map((k) => [k, []]));
    for (const c of page.claims || []) groups.get(group(c)).push(c);
    fill(box, [...groups].filter(([, list]) => list.length).map(([key, list]) =>
      h('section', {id: `promises-${key}`}, h('h2', {}, `${TITLES[key]} (${list.length})`),
        h('ul', {class: 'promises'}, list.map((c) => h('li', {'data-claim-id': c.claimId},
          statusBadge(c.status, c.rating), ' ', link(claimHref(c.claimId), c.text),
          ' — ', link(claimantHref(c.claimant), c.claimant),
          c.dueAt ? h('span', {class: 'meta'}, ` due ${when(c.dueAt)}`) : null))))));
  }
  await draw();
  const head = await get('log/head');
  stops.push(subscribe({fromPosition: head.treeSize || '0', 'overdue.notify': 'true'},
      (name) => { if (name === 'event' || name === 'overdue') draw(); },
      {authHeaders}));
}

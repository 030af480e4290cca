// One claim: text, claimant and reporter, status with its reason, the
// evidence timeline, verdict, corrections, links, a history slider, the
// verified badge, and the editors' forms. Updates live.
import {get, enc, authHeaders} from './api.js';
import {h, fill, statusBadge, enumWord, when, link, claimHref,
        claimantHref} from './dom.js';
import {subscribe} from './events.js';
import {verifyClaim} from './verify.js';
import {editorForms, describeEvent} from './editor.js';

function sourceText(source) {
  if (!source) return '';
  return source.outlet ? `${source.name} (${source.outlet})` : source.name;
}

// Why the claim has its status, in words (docs/ARCHITECTURE.md, "Status
// rules"), from the sources the server counted.
export function statusReason(c) {
  const supporting = (c.supportingSources || []).join(', ');
  const refuting = (c.refutingSources || []).join(', ');
  switch (c.status) {
    case 'CLAIM_STATUS_SUPPORTED': return `Supported by ${supporting}`;
    case 'CLAIM_STATUS_CONTRADICTED': return `Refuted by ${refuting}`;
    case 'CLAIM_STATUS_DISPUTED':
      return `Supported by ${supporting}; refuted by ${refuting}`;
    case 'CLAIM_STATUS_RATED':
      return `Rated ${enumWord(c.rating, 'RATING_')}` +
          (c.verdict && c.verdict.reviewer ? ` by ${c.verdict.reviewer}` : '');
    case 'CLAIM_STATUS_RETRACTED': return `Retracted: ${c.retractionReason || ''}`;
    case 'CLAIM_STATUS_OVERDUE':
      return `Due ${when(c.dueAt)}; passed with no verdict and no supporting evidence`;
    default: return 'No supporting or refuting evidence yet';
  }
}

function evidenceTimeline(c) {
  const items = [...(c.evidence || [])].sort((a, b) =>
      (a.observedAt || '').localeCompare(b.observedAt || '') ||
      Number(a.addedVersion || 0) - Number(b.addedVersion || 0));
  if (!items.length) return h('p', {class: 'note'}, 'No evidence yet.');
  return h('ol', {class: 'timeline'}, items.map((e) =>
    h('li', {class: `evidence stance-${enumWord(e.stance, 'STANCE_')}` +
                    (e.withdrawn ? ' withdrawn' : ''),
             'data-evidence-id': e.evidenceId},
      h('time', {datetime: e.observedAt}, when(e.observedAt)), ' ',
      h('span', {class: 'stance'}, enumWord(e.stance, 'STANCE_')), ' · ',
      h('strong', {}, sourceText(e.source)),
      e.note ? h('p', {}, e.note) : null,
      h('p', {class: 'meta'}, `added by ${e.addedBy || 'anonymous'} at version ${e.addedVersion}`),
      e.withdrawn ? h('p', {class: 'meta'}, `withdrawn: ${e.withdrawnReason || ''}`) : null)));
}

function linksList(c) {
  if (!(c.links || []).length) return null;
  return h('section', {}, h('h2', {}, 'Links'), h('ul', {}, c.links.map((l) => {
    const relation = enumWord(l.relation, 'LINK_RELATION_');
    const incoming = l.direction === 'LINK_DIRECTION_INCOMING';
    const words = relation === 'repeats'
        ? (incoming ? 'repeated by' : 'repeats') : relation;
    return h('li', {class: `link link-${relation}`},
             `${words} `, link(claimHref(l.otherClaimId), l.otherClaimId));
  })));
}

function details(c) {
  return [
    h('h1', {class: 'claim-text'}, c.text),
    h('dl', {class: 'facts'},
      h('dt', {}, 'Claimant'), h('dd', {class: 'claimant'},
          link(claimantHref(c.claimant), c.claimant)),
      h('dt', {}, 'Reported by'), h('dd', {class: 'reporter'}, sourceText(c.reportedBy)),
      h('dt', {}, 'Kind'), h('dd', {}, enumWord(c.kind, 'CLAIM_KIND_')),
      h('dt', {}, 'Subject'), h('dd', {}, c.subject),
      h('dt', {}, 'Asserted'), h('dd', {}, when(c.assertedAt)),
      c.dueAt ? [h('dt', {}, 'Due'), h('dd', {}, when(c.dueAt))] : null,
      (c.tags || []).length ? [h('dt', {}, 'Tags'), h('dd', {}, c.tags.join(', '))] : null,
      h('dt', {}, 'Version'), h('dd', {class: 'version'}, String(c.version))),
    h('p', {class: 'status-line'}, statusBadge(c.status, c.rating), ' ',
      h('span', {class: 'reason'}, statusReason(c))),
    c.verdict ? h('section', {class: 'verdict'}, h('h2', {}, 'Verdict'),
        h('p', {}, h('strong', {}, enumWord(c.verdict.rating, 'RATING_')),
          ` by ${c.verdict.reviewer || 'the desk'}, ${when(c.verdict.issuedAt)}`),
        h('p', {}, c.verdict.summary || '')) : null,
    h('section', {}, h('h2', {}, 'Evidence'), evidenceTimeline(c)),
    (c.corrections || []).length ? h('section', {}, h('h2', {}, 'Corrections'),
        h('ul', {}, c.corrections.map((k) => h('li', {},
            `version ${k.version}, ${when(k.correctedAt)}: ${k.reason}`,
            k.previous && k.previous.text ? h('p', {class: 'meta'},
                `before: ${k.previous.text}`) : null)))) : null,
    linksList(c),
  ];
}

async function historySlider(id, container, asOf) {
  const history = await get(`claims/${enc(id)}/history`);
  const events = history.events || [];
  if (!events.length) return;
  const slider = h('input', {type: 'range', id: 'history', min: 1,
                             max: events.length, value: events.length, step: 1});
  const label = h('label', {for: 'history'}, 'History: version');
  const output = h('output', {for: 'history', id: 'history-value'});
  async function show() {
    const event = events[Number(slider.value) - 1];
    fill(output, `${event.version} of ${events.length} (position ${event.position})`);
    try {
      const then = await get(`claims/${enc(id)}`, {asOfPosition: event.position});
      fill(asOf, h('p', {}, `As of position ${event.position}: `,
                     statusBadge(then.status, then.rating), ' ',
                     h('span', {class: 'reason'}, statusReason(then))),
           h('p', {class: 'meta'}, describeEvent(event)));
    } catch (e) {
      fill(asOf, h('p', {class: 'error'}, e.message));
    }
  }
  slider.addEventListener('input', show);
  fill(container, label, ' ', slider, ' ', output);
  await show();
}

async function runVerify(id, badge) {
  fill(badge, 'verifying…');
  badge.dataset.state = 'pending';
  try {
    const result = await verifyClaim(id);
    badge.dataset.state = result.ok ? 'ok' : 'failed';
    fill(badge, h('strong', {}, result.ok ? '✔ verified' : '✘ not verified'),
         ' ', result.text);
  } catch (e) {
    badge.dataset.state = 'failed';
    fill(badge, h('strong', {}, '✘ not verified'), ` ${e.message}`);
  }
}

export async function renderClaim(app, stops, id) {
  let claim = await get(`claims/${enc(id)}`);
  const body = h('div', {id: 'claim'});
  const badge = h('p', {id: 'verified', class: 'verified', role: 'status'});
  const sliderBox = h('div', {class: 'history'});
  const asOf = h('div', {id: 'as-of', class: 'as-of', 'aria-live': 'polite'});
  const forms = h('div', {id: 'editor'});
  fill(app, body, badge, h('section', {}, h('h2', {}, 'History'), sliderBox, asOf),
       forms);
  fill(body, details(claim));
  fill(forms, editorForms(claim, async () => {
    claim = await get(`claims/${enc(id)}`);
    fill(body, details(claim));
  }));
  await Promise.all([historySlider(id, sliderBox, asOf), runVerify(id, badge)]);
  stops.push(subscribe({fromPosition: claim.lastPosition || '0',
                        'filter.claimId': id}, async (name) => {
    if (name !== 'event') return;
    claim = await get(`claims/${enc(id)}`);
    fill(body, details(claim));
    await Promise.all([historySlider(id, sliderBox, asOf), runVerify(id, badge)]);
  }, {authHeaders}));
}



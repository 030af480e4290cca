// The editors' forms: the same commands as the CLI (README, "Web view"),
// each with a generated request id and, on a claim, the expected_version
// the page showed when the form was drawn. A refusal because someone else
// changed the claim (ABORTED) says so and lists what changed.
import {get, post, enc, requestId, ApiError} from './api.js';
import {h, fill, enumWord, when, claimHref} from './dom.js';

const STANCES = ['STANCE_SUPPORTS', 'STANCE_REFUTES', 'STANCE_CONTEXT'];
const RATINGS = ['RATING_TRUE', 'RATING_MOSTLY_TRUE', 'RATING_HALF_TRUE',
                 'RATING_MOSTLY_FALSE', 'RATING_FALSE', 'RATING_PANTS_ON_FIRE',
                 'RATING_MISLEADING', 'RATING_UNPROVEN', 'RATING_KEPT',
                 'RATING_COMPROMISE', 'RATING_IN_PROGRESS', 'RATING_STALLED',
                 'RATING_BROKEN', 'RATING_NOT_YET_RATED'];
const KINDS = ['CLAIM_KIND_FACT', 'CLAIM_KIND_PROMISE', 'CLAIM_KIND_PREDICTION',
               'CLAIM_KIND_STATISTIC'];

// One line about an event: "version 3: evidence 'x' added (refutes) by A".
export function describeEvent(e) {
  const who = e.actor || 'anonymous';
  let what = 'changed';
  if (e.claimRecorded) what = 'recorded';
  else if (e.evidenceAdded) {
    what = `evidence “${e.evidenceAdded.evidenceId}” from ` +
        `${(e.evidenceAdded.source || {}).name || '?'} added ` +
        `(${enumWord(e.evidenceAdded.stance, 'STANCE_')})`;
  } else if (e.evidenceWithdrawn) {
    what = `evidence “${e.evidenceWithdrawn.evidenceId}” withdrawn`;
  } else if (e.verdictIssued) {
    what = `verdict ${enumWord(e.verdictIssued.rating, 'RATING_')} issued`;
  } else if (e.claimCorrected) what = 'corrected';
  else if (e.claimRetracted) what = 'retracted';
  else if (e.claimLinked) what = `linked to ${e.claimLinked.otherClaimId}`;
  return `version ${e.version}: ${what} by ${who} at ${when(e.recordedAt)}`;
}

function field(id, label, control) {
  control.id = id;
  return h('p', {class: 'field'}, h('label', {for: id}, label), ' ', control);
}
function select(name, values, prefix, required = true) {
  return h('select', {name, required},
           values.map((v) => h('option', {value: v}, enumWord(v, prefix))));
}
function input(name, attrs = {}) {
  return h('input', {name, ...attrs});
}

// Why a command was refused, for people; with ABORTED, what changed.
async function explain(error, claimId, seenVersion) {
  if (!(error instanceof ApiError) || error.code !== 'ABORTED' || !claimId) {
    return [h('strong', {}, `Refused (${error.code || 'error'}): `), error.message];
  }
  const history = await get(`claims/${enc(claimId)}/history`,
                            {fromVersion: seenVersion + 1});
  const changes = history.events || [];
  return [h('strong', {}, 'Someone else changed this claim'),
          ` since you opened this form (you saw version ${seenVersion}). ` +
          'Nothing was saved. What changed:',
          h('ul', {}, changes.map((e) => h('li', {}, describeEvent(e)))),
          'Reload the page to edit the claim as it is now.'];
}

// A form that sends `build(formData)` to `path` (a string, or a function
// of the form's data); `claim` (or null) gives the expected version.
function commandForm(title, id, controls, path, build, claim, onDone) {
  const message = h('div', {class: 'form-message', role: 'alert'});
  const form = h('form', {id, class: 'command', 'aria-labelledby': `${id}-title`},
                 h('h3', {id: `${id}-title`}, title), controls,
                 h('button', {type: 'submit'}, title), message);
  const seenVersion = claim ? Number(claim.version) : 0;
  form.dataset.expectedVersion = String(seenVersion);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    const body = {...build(data), requestId: requestId()};
    if (claim) body.expectedVersion = String(seenVersion);
    form.setAttribute('aria-busy', 'true');
    try {
      const response = await post(
          typeof path === 'function' ? path(data) : path, body);
      message.dataset.state = 'ok';
      fill(message, `Saved: version ${response.version} at position ${response.lastPosition}.`);
      if (onDone) await onDone(response, id);
    } catch (error) {
      message.dataset.state = 'error';
      fill(message, await explain(error, claim && claim.claimId, seenVersion));
    } finally {
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

const source = (d) => ({name: d.sourceName, outlet: d.sourceOutlet || undefined,
                        url: d.sourceUrl || undefined});
const time = (value) => (value ? new Date(value).toISOString() : undefined);

export function editorForms(claim, onChanged) {
  const id = claim.claimId;
  const box = h('section', {class: 'editor'}, h('h2', {}, 'Edit'));
  // After a command: the forms again at the claim's new version, the one
  // just used saying what it saved.
  const redraw = async (response, formId) => {
    await onChanged();
    const fresh = await get(`claims/${enc(id)}`);
    const next = editorForms(fresh, onChanged);
    const message = next.querySelector(`#${formId} .form-message`);
    message.dataset.state = 'ok';
    message.textContent =
        `Saved: version ${response.version} at position ${response.lastPosition}.`;
    box.replaceWith(next);
  };
  const open = (claim.evidence || []).filter((e) => !e.withdrawn);
  box.append(
    commandForm('Add evidence', 'add-evidence', [
      field('ev-stance', 'Stance', select('stance', STANCES, 'STANCE_')),
      field('ev-source', 'Source', input('sourceName', {required: true})),
      field('ev-outlet', 'Outlet', input('sourceOutlet')),
      field('ev-url', 'URL', input('sourceUrl', {type: 'url'})),
      field('ev-observed', 'Observed at', input('observedAt', {type: 'datetime-local'})),
      field('ev-note', 'Note', h('textarea', {name: 'note', rows: 2})),
    ], `claims/${enc(id)}/evidence`, (d) => ({
      stance: d.stance, source: source(d), note: d.note || undefined,
      observedAt: time(d.observedAt)}), claim, redraw),
    open.length ? commandForm('Withdraw evidence', 'withdraw-evidence', [
      field('wd-id', 'Evidence', h('select', {name: 'evidenceId', required: true},
          open.map((e) => h('option', {value: e.evidenceId},
                            `${e.evidenceId} (${(e.source || {}).name})`)))),
      field('wd-reason', 'Reason', input('reason', {required: true})),
    ], (d) => `claims/${enc(id)}/evidence/${enc(d.evidenceId)}/withdraw`,
    (d) => ({reason: d.reason}), claim, redraw) : null,
    commandForm('Issue verdict', 'issue-verdict', [
      field('vd-rating', 'Rating', select('rating', RATINGS, 'RATING_')),
      field('vd-summary', 'Summary', h('textarea', {name: 'summary', rows: 2, required: true})),
      field('vd-reviewer', 'Reviewer', input('reviewer', {required: true})),
    ], `claims/${enc(id)}/verdict`, (d) => ({
      rating: d.rating, summary: d.summary, reviewer: d.reviewer}), claim, redraw));
  return box;
}

export function renderNewClaim(app) {
  const form = commandForm('Record claim', 'record-claim', [
    field('rc-text', 'Text', h('textarea', {name: 'text', rows: 3, required: true})),
    field('rc-claimant', 'Claimant', input('claimant', {required: true})),
    field('rc-reporter', 'Reported by', input('sourceName', {required: true})),
    field('rc-outlet', 'Outlet', input('sourceOutlet')),
    field('rc-subject', 'Subject', input('subject', {required: true})),
    field('rc-kind', 'Kind', select('kind', KINDS, 'CLAIM_KIND_')),
    field('rc-asserted', 'Asserted at', input('assertedAt', {type: 'datetime-local'})),
    field('rc-due', 'Due at (promises)', input('dueAt', {type: 'datetime-local'})),
    field('rc-tags', 'Tags (comma separated)', input('tags')),
  ], 'claims', (d) => ({
    text: d.text, claimant: d.claimant, reportedBy: source(d), subject: d.subject,
    kind: d.kind, assertedAt: time(d.assertedAt), dueAt: time(d.dueAt),
    tags: d.tags ? d.tags.split(',').map((t) => t.trim()).filter(Boolean) : undefined,
  }), null, async (response) => {
    location.assign(claimHref(response.claimId));
  });
  fill(app, h('h1', {}, 'New claim'), form);
}

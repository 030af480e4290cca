// Building the page. Every string from the server or the user goes in as
// text (textContent, attribute values), never as HTML.

// h('a', {href: '/x', class: 'y'}, 'text', child, ...): an element.
// Attributes named on* are refused: no handlers from data.
export function h(tag, attrs = {}, ...children) {
  const svg = ['svg', 'rect', 'text', 'g', 'title'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag)
                 : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) throw new Error('no handlers in attributes');
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

// Replaces the children of `el`.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const STATUS_WORDS = {
  CLAIM_STATUS_UNVERIFIED: 'unverified',
  CLAIM_STATUS_SUPPORTED: 'supported',
  CLAIM_STATUS_CONTRADICTED: 'contradicted',
  CLAIM_STATUS_DISPUTED: 'disputed',
  CLAIM_STATUS_RATED: 'rated',
  CLAIM_STATUS_RETRACTED: 'retracted',
  CLAIM_STATUS_OVERDUE: 'overdue',
};
export const STATUSES = Object.keys(STATUS_WORDS);

// "contradicted" for CLAIM_STATUS_CONTRADICTED.
export function statusWord(status) {
  return STATUS_WORDS[status] || 'unknown';
}

// "mostly true" for RATING_MOSTLY_TRUE, "promise" for CLAIM_KIND_PROMISE.
export function enumWord(value, prefix) {
  if (!value) return '';
  return value.replace(prefix, '').toLowerCase().replaceAll('_', ' ');
}

export function statusBadge(status, rating) {
  const word = statusWord(status);
  const text = rating && status === 'CLAIM_STATUS_RATED'
      ? `rated ${enumWord(rating, 'RATING_')}` : word;
  return h('span', {class: `status status-${word}`, 'data-status': word}, text);
}

// A timestamp for people: "2014-05-19 00:00 UTC".
export function when(timestamp) {
  if (!timestamp) return '';
  return timestamp.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

export function link(href, ...children) {
  return h('a', {href}, ...children);
}

export function claimHref(id) {
  return `/claims/${encodeURIComponent(id)}`;
}
export function claimantHref(name) {
  return `/claimants/${encodeURIComponent(name)}`;
}

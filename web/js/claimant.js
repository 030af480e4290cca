// A claimant's track record: counts by status and by rating as a bar
// chart, the groups of repeated statements, the claims.
import {get, enc} from './api.js';
import {h, fill, statusWord, enumWord, link, claimHref} from './dom.js';

// A horizontal bar chart (SVG) of [label, count, cssClass] rows, with a
// table of the same numbers for screen readers and copying.
function barChart(title, rows) {
  const max = Math.max(1, ...rows.map((r) => r[1]));
  const rowHeight = 26, labelWidth = 130, width = 420;
  const svg = h('svg', {class: 'chart', role: 'img', 'aria-label': title,
                        viewBox: `0 0 ${width} ${rows.length * rowHeight + 4}`,
                        width: '100%'},
    h('title', {}, title),
    rows.map(([label, count, cls], i) => h('g', {class: cls},
      h('text', {x: 0, y: i * rowHeight + 18}, label),
      h('rect', {x: labelWidth, y: i * rowHeight + 4,
                 width: Math.max(2, (width - labelWidth - 40) * count / max),
                 height: rowHeight - 8}),
      h('text', {x: labelWidth + (width - labelWidth - 40) * count / max + 6,
                 y: i * rowHeight + 18}, String(count)))));
  return h('figure', {class: 'chart-box'}, h('figcaption', {}, title), svg,
    h('table', {class: 'visually-hidden'}, h('caption', {}, title),
      h('tbody', {}, rows.map(([label, count]) =>
          h('tr', {}, h('th', {scope: 'row'}, label), h('td', {}, String(count)))))));
}

export async function renderClaimant(app, stops, name) {
  const view = await get(`claimants/${enc(name)}`);
  const byStatus = (view.byStatus || []).map((s) =>
      [statusWord(s.status), Number(s.count), `status-${statusWord(s.status)}`]);
  const byRating = (view.byRating || []).map((r) =>
      [enumWord(r.rating, 'RATING_'), Number(r.count), 'rating']);
  fill(app,
    h('h1', {}, view.claimant),
    h('p', {}, `${view.claimCount || 0} claim(s) on record.`),
    h('div', {class: 'charts'},
      barChart(`Claims of ${view.claimant} by status`, byStatus),
      byRating.length ? barChart(`Verdicts on ${view.claimant}'s claims`, byRating)
                      : null),
    (view.repeats || []).length ? h('section', {}, h('h2', {}, 'Repeated statements'),
      h('ul', {class: 'repeats'}, view.repeats.map((g) => h('li', {},
        `${g.statements} statements: `,
        (g.claimIds || []).map((id, i) => [i ? ' → ' : '', link(claimHref(id), id)])))))
      : null,
    h('section', {}, h('h2', {}, 'Claims'),
      h('ul', {}, (view.claimIds || []).map((id) => h('li', {}, link(claimHref(id), id))))));
}

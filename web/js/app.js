// The web view's router: one page shell, a page per path.
import {get, setToken, token, ApiError} from './api.js';
import {h, fill} from './dom.js';
import {renderBoard} from './board.js';
import {renderClaim} from './claim.js';
import {renderClaimant} from './claimant.js';
import {renderPromises} from './promises.js';
import {renderNewClaim} from './editor.js';

const app = document.getElementById('app');
let stops = [];

function askForToken(reason) {
  const input = h('input', {id: 'token', type: 'password', autocomplete: 'off',
                            required: true});
  const form = h('form', {class: 'token'},
    h('h1', {}, 'Sign in'),
    h('p', {}, reason || 'This factlogd needs a token (factlogd token new).'),
    h('p', {}, h('label', {for: 'token'}, 'Token'), ' ', input),
    h('p', {class: 'meta'}, 'Kept for this tab only; sent as a bearer header.'),
    h('button', {type: 'submit'}, 'Use token'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    route();
  });
  fill(app, form);
  input.focus();
}

async function route() {
  for (const stop of stops) stop();
  stops = [];
  const path = location.pathname;
  try {
    const session = await get('session');
    if (session.authRequired && !token()) return askForToken();
    let m;
    if ((m = /^\/claims\/([^/]+)$/.exec(path))) {
      await renderClaim(app, stops, decodeURIComponent(m[1]));
    } else if ((m = /^\/claimants\/([^/]+)$/.exec(path))) {
      await renderClaimant(app, stops, decodeURIComponent(m[1]));
    } else if (path === '/promises') {
      await renderPromises(app, stops);
    } else if (path === '/editor') {
      renderNewClaim(app);
    } else {
      await renderBoard(app, stops);
    }
    document.body.dataset.ready = 'true';
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setToken('');
      return askForToken(`The server refused the token: ${error.message}`);
    }
    fill(app, h('p', {class: 'error', role: 'alert'},
                `Cannot show this page: ${error.message}`));
  }
}

route();

import { $, ConsoleApi, ConsoleError } from './http.js';
import { Overview, type NodesSnapshot } from './overview.js';
import { ChannelsPage, EventsPage, showConfig, UsersPage, type LifecycleEvent } from './pages.js';

/**
 * The operator console: log in (password or admin key), then the pages, fed by the console's own event stream. No
 * framework: five small pages of tables and forms, and uPlot for the charts.
 */
const api = new ConsoleApi();
const panel = (name: string) => $(`[data-panel="${name}"]`);
const overview = new Overview(panel('overview'));
const channels = new ChannelsPage(panel('channels'), api);
const users = new UsersPage(panel('users'), api);
const events = new EventsPage(panel('events'));
let stream: EventSource | undefined;

function showTab(name: string): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-tab]')) button.setAttribute('aria-selected', String(button.dataset.tab === name));
  for (const section of document.querySelectorAll<HTMLElement>('[data-panel]')) section.hidden = section.dataset.panel !== name;
  if (name === 'overview') overview.shown();
  if (name === 'channels') channels.shown();
  if (name === 'config') void showConfig(panel('config'), api);
}

function enter(session: { subject: string; csrf: string }): void {
  api.csrf = session.csrf;
  $('[data-testid="login"]').hidden = true;
  $('[data-testid="tabs"]').hidden = false;
  $('[data-testid="whoami"]').hidden = false;
  $('[data-testid="subject"]').textContent = session.subject;
  showTab(location.hash.slice(1) || 'overview');
  void api.get<{ events: LifecycleEvent[] }>('/events').then(({ events: recent }) => recent.forEach((event) => events.add(event)));
  openStream();
}

function openStream(): void {
  stream?.close();
  stream = new EventSource('/admin/api/stream');
  stream.addEventListener('nodes', (message) => overview.update(JSON.parse((message as MessageEvent<string>).data) as NodesSnapshot));
  stream.addEventListener('lifecycle', (message) => {
    const event = JSON.parse((message as MessageEvent<string>).data) as LifecycleEvent;
    events.add(event);
    if (event.type.startsWith('session.')) void users.sessionEvent(event);
  });
  // The stream ends with the console session; EventSource reconnects, and a refused reconnect means log in again.
  stream.addEventListener('error', () => {
    void api.get('/session').catch((error: unknown) => {
      if (error instanceof ConsoleError && error.status === 401) leave();
    });
  });
}

function leave(): void {
  stream?.close();
  $('[data-testid="login"]').hidden = false;
  $('[data-testid="tabs"]').hidden = true;
  $('[data-testid="whoami"]').hidden = true;
  for (const section of document.querySelectorAll<HTMLElement>('[data-panel]')) section.hidden = true;
}

for (const button of document.querySelectorAll<HTMLButtonElement>('[data-tab]')) {
  button.addEventListener('click', () => {
    location.hash = button.dataset.tab!;
    showTab(button.dataset.tab!);
  });
}

$('[data-testid="login"]').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.target as HTMLFormElement;
  const secret = ($('[data-testid="secret"]', form) as HTMLInputElement).value;
  const isKey = ($('[data-testid="is-key"]', form) as HTMLInputElement).checked;
  const error = $('[data-testid="login-error"]', form);
  api.post<{ subject: string; csrf: string }>('/login', isKey ? { key: secret } : { password: secret }).then(
    (session) => {
      error.hidden = true;
      ($('[data-testid="secret"]', form) as HTMLInputElement).value = '';
      enter(session);
    },
    (failure: Error) => {
      error.hidden = false;
      error.textContent = failure.message;
    },
  );
});

$('[data-testid="logout"]').addEventListener('click', () => void api.post('/logout').finally(leave));

// A console session survives a reload: the cookie is still there.
api.get<{ subject: string; csrf: string }>('/session').then(enter, () => leave());

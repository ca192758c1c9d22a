import { $, el, formatAge, type ConsoleApi } from './http.js';

interface ChannelPage {
  channels: Array<{ channel: string; subscribers: number }>;
  cursor: string | null;
}
interface ChannelDetail {
  channel: string;
  subscribers: number;
  presence: number | null;
  nodes: Array<{ node: string; subscribers: number }>;
  history: { publications: Array<{ offset: number; from: unknown; data: unknown }> } | null;
}

/** Search by prefix (paged), a channel's counts and latest publications, and a test publication. */
export class ChannelsPage {
  private prefix = '';
  private cursor: string | null = null;
  private selected: string | null = null;

  constructor(private readonly root: HTMLElement, private readonly api: ConsoleApi) {
    $('[data-testid="channel-search"]', root).addEventListener('submit', (event) => {
      event.preventDefault();
      this.prefix = ($('[data-testid="channel-prefix"]', root) as HTMLInputElement).value.trim();
      void this.search(false);
    });
    $('[data-testid="channels-more"]', root).addEventListener('click', () => void this.search(true));
    $('[data-testid="publish-form"]', root).addEventListener('submit', (event) => {
      event.preventDefault();
      void this.publish();
    });
  }

  shown(): void {
    if (this.cursor === null && $('[data-testid="channels"] tbody', this.root).childElementCount === 0) void this.search(false);
  }

  private async search(more: boolean): Promise<void> {
    const query = new URLSearchParams({ prefix: this.prefix, limit: '100', ...(more && this.cursor ? { cursor: this.cursor } : {}) });
    const page = await this.api.get<ChannelPage>(`/channels?${query}`);
    const body = $('[data-testid="channels"] tbody', this.root);
    const rows = page.channels.map(({ channel, subscribers }) => {
      const row = el('tr', { class: 'clickable', 'data-testid': 'channel-row', 'data-channel': channel }, el('td', {}, channel), el('td', { class: 'num' }, String(subscribers)));
      row.addEventListener('click', () => void this.open(channel));
      return row;
    });
    if (more) body.append(...rows);
    else body.replaceChildren(...rows);
    this.cursor = page.cursor;
    $('[data-testid="channels-more"]', this.root).hidden = page.cursor === null;
  }

  private async open(channel: string): Promise<void> {
    this.selected = channel;
    const detail = await this.api.get<ChannelDetail>(`/channels/${encodeURIComponent(channel)}`);
    const box = $('[data-testid="channel-detail"]', this.root);
    box.hidden = false;
    $('[data-testid="channel-name"]', box).textContent = detail.channel;
    const perNode = detail.nodes.map((entry) => `${entry.node}: ${entry.subscribers}`).join(', ');
    $('[data-testid="channel-counts"]', box).textContent =
      `${detail.subscribers} subscribers${perNode ? ` (${perNode})` : ''} · presence ${detail.presence ?? 'off'}`;
    const history = $('[data-testid="channel-history"]', box);
    const publications = detail.history?.publications ?? [];
    history.replaceChildren(...(publications.length > 0
      ? [...publications].reverse().map((publication) => el('li', {}, `#${publication.offset} ${JSON.stringify(publication.data)}`))
      : [el('li', { class: 'muted' }, detail.history ? 'no publications kept' : 'this namespace keeps no history')]));
  }

  private async publish(): Promise<void> {
    const result = $('[data-testid="publish-result"]', this.root);
    if (!this.selected) return;
    let data: unknown;
    try {
      data = JSON.parse(($('[data-testid="publish-data"]', this.root) as HTMLTextAreaElement).value);
    } catch {
      result.textContent = 'not valid JSON';
      return;
    }
    try {
      const answer = await this.api.post<{ offset: number }>(`/channels/${encodeURIComponent(this.selected)}/publish`, { data });
      result.textContent = `published at offset ${answer.offset}`;
      await this.open(this.selected);
    } catch (error) {
      result.textContent = (error as Error).message;
    }
  }
}

interface UserSessions {
  user: string;
  online: boolean;
  sessions: Array<{
    session: string;
    node: string;
    connectedAt: string;
    ageSeconds: number;
    client: { ip: string | null; userAgent: string | null; origin: string | null };
    details: { protocol: string; transport: string; subscriptions: string[] } | null;
  }>;
  unansweredNodes: string[];
}

/** Looks after a session's end event while the registry still lists it: how often, and how far apart. */
const ENDED_SESSION_CHECKS = 8;
const ENDED_SESSION_RECHECK_MS = 250;

/** A user's sessions by node, and disconnecting or revoking them. */
export class UsersPage {
  private user: string | null = null;

  constructor(private readonly root: HTMLElement, private readonly api: ConsoleApi) {
    $('[data-testid="user-search"]', root).addEventListener('submit', (event) => {
      event.preventDefault();
      this.user = ($('[data-testid="user-id"]', root) as HTMLInputElement).value.trim();
      void this.refresh();
    });
  }

  /**
   * After a lifecycle event of a session: looks the user up again, and once more a little later (up to
   * ENDED_SESSION_CHECKS times) while a session the event says ended is still listed. The node reports a session's
   * end before it takes the session out of the registry, so the first look can still find it.
   */
  async sessionEvent(event: { type: string; data: Record<string, unknown> }): Promise<void> {
    const ended = event.type === 'session.disconnected' ? String(event.data.session) : null;
    for (let check = 0; check < ENDED_SESSION_CHECKS; check++) {
      if (check > 0) await new Promise((resolve) => setTimeout(resolve, ENDED_SESSION_RECHECK_MS));
      const listed = await this.refresh();
      if (ended === null || !listed.includes(ended)) return;
    }
  }

  /** Looks the user up again (after an action, or when a lifecycle event names them); resolves with the sessions listed. */
  async refresh(): Promise<string[]> {
    if (!this.user) return [];
    const result = $('[data-testid="user-result"]', this.root);
    let found: UserSessions;
    try {
      found = await this.api.get<UserSessions>(`/users/${encodeURIComponent(this.user)}`);
    } catch (error) {
      result.replaceChildren(el('p', { class: 'error' }, (error as Error).message));
      return [];
    }
    const user = found.user;
    const byNode = new Map<string, UserSessions['sessions']>();
    for (const session of found.sessions) byNode.set(session.node, [...(byNode.get(session.node) ?? []), session]);
    const actions = el('div', { class: 'actions' });
    if (found.sessions.length > 0) {
      actions.append(
        this.button('Disconnect all', 'disconnect-all', 'secondary', () => this.api.post(`/users/${encodeURIComponent(user)}/disconnect`, {})),
        this.button('Revoke', 'revoke', 'danger', () => this.api.post(`/users/${encodeURIComponent(user)}/revoke`, {}), `Revoke ${user}? Their sessions close and reconnects are refused.`),
      );
    }
    const groups = [...byNode].map(([node, sessions]) => el('div', { class: 'node-group', 'data-testid': 'user-node', 'data-node': node },
      el('h3', {}, `${node} · ${sessions.length} session${sessions.length === 1 ? '' : 's'}`),
      el('div', { class: 'table-wrap' }, el('table', {},
        el('thead', {}, el('tr', {}, ...['session', 'client address', 'age', 'protocol', 'transport', 'subscriptions', ''].map((title) => el('th', {}, title)))),
        el('tbody', {}, ...sessions.map((session) => el('tr', { 'data-testid': 'user-session', 'data-session': session.session, 'data-node': node },
          el('td', {}, session.session),
          el('td', {}, session.client.ip ?? '—'),
          el('td', {}, formatAge(session.ageSeconds * 1000)),
          el('td', {}, session.details?.protocol ?? '—'),
          el('td', {}, session.details?.transport ?? '—'),
          el('td', {}, session.details ? session.details.subscriptions.join(', ') || '—' : 'node did not answer'),
          el('td', {}, this.button('Disconnect', 'disconnect-session', 'secondary', () => this.api.post(`/sessions/${encodeURIComponent(session.session)}/disconnect`, {}))),
        ))),
      )),
    ));
    result.replaceChildren(
      el('p', { 'data-testid': 'user-summary' }, `${user}: ${found.online ? `online, ${found.sessions.length} session${found.sessions.length === 1 ? '' : 's'} on ${byNode.size} node${byNode.size === 1 ? '' : 's'}` : 'offline'}`),
      actions, ...groups,
    );
    return found.sessions.map((session) => session.session);
  }

  private button(label: string, testId: string, kind: string, action: () => Promise<unknown>, confirmText?: string): HTMLElement {
    const button = el('button', { type: 'button', class: kind, 'data-testid': testId }, label);
    button.addEventListener('click', () => {
      if (confirmText && !window.confirm(confirmText)) return;
      (button as HTMLButtonElement).disabled = true;
      action().then(() => this.refresh(), (error: Error) => window.alert(error.message));
    });
    return button;
  }
}

export interface LifecycleEvent {
  id: string;
  type: string;
  timestamp: string;
  node: string;
  data: Record<string, unknown>;
}

/** The tail of lifecycle events, newest first, filtered by type or text. */
export class EventsPage {
  private readonly events: LifecycleEvent[] = [];
  private filter = '';

  constructor(private readonly root: HTMLElement) {
    $('[data-testid="event-filter"]', root).addEventListener('input', (event) => {
      this.filter = (event.target as HTMLInputElement).value.trim().toLowerCase();
      this.render();
    });
  }

  add(event: LifecycleEvent): void {
    if (this.events.some((known) => known.id === event.id)) return;
    this.events.unshift(event);
    if (this.events.length > 500) this.events.pop();
    if (!($('[data-testid="event-pause"]', this.root) as HTMLInputElement).checked) this.render();
  }

  private render(): void {
    const list = $('[data-testid="events"]', this.root);
    const shown = this.events.filter((event) => this.filter === '' || `${event.type} ${event.node} ${JSON.stringify(event.data)}`.toLowerCase().includes(this.filter));
    list.replaceChildren(...shown.slice(0, 200).map((event) => el('li', { 'data-testid': 'event', 'data-type': event.type },
      el('span', { class: 'muted' }, `${event.timestamp.slice(11, 23)} ${event.node} `), el('span', { class: 'type' }, event.type), JSON.stringify(event.data))));
  }
}

/** The answering node's running config, secrets redacted by the server. */
export async function showConfig(root: HTMLElement, api: ConsoleApi): Promise<void> {
  const { node, config } = await api.get<{ node: string; config: unknown }>('/config');
  $('[data-testid="config-node"]', root).textContent = `running config of ${node} (secrets redacted)`;
  $('[data-testid="config"]', root).textContent = JSON.stringify(config, null, 2);
}

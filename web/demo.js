// The wsgate demo: a small chat on the client SDK the gateway serves at /client.js. Plain DOM, no framework; every piece
// of user data goes through textContent.
import { WsgateClient } from '/client.js';

const STORAGE_KEY = 'wsgate-demo-login';
const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,60}$/;

/** @param {string} id */
const el = (id) => /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${id}"]`));

/**
 * @typedef {{ kind: 'room' | 'direct' | 'system', from?: string, text: string, offset?: number, at: Date, own?: boolean }} Entry
 * @typedef {{
 *   key: string, kind: 'channel' | 'direct', title: string, channel?: string, peer?: string,
 *   entries: Entry[], seen: Set<string>, members: Map<string, number>, unread: number,
 *   subscription?: import('/client.js').Subscription, presenceTimer?: number, failed?: boolean,
 * }} Conversation
 */

const state = {
  /** @type {string | null} */ me: null,
  /** @type {string | null} */ org: null,
  /** @type {WsgateClient | null} */ client: null,
  /** @type {Map<string, Conversation>} */ conversations: new Map(),
  /** @type {string | null} */ active: null,
};

// ---- login ---------------------------------------------------------------------------------------------------------

function prefillLogin() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    if (!saved) return;
    /** @type {HTMLInputElement} */ (el('login-user')).value = saved.user ?? '';
    /** @type {HTMLInputElement} */ (el('login-org')).value = saved.org ?? 'acme';
    /** @type {HTMLInputElement} */ (el('login-single')).checked = Boolean(saved.single);
  } catch {
    // A broken saved value only costs the prefill.
  }
}

el('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  const user = /** @type {HTMLInputElement} */ (form.elements.namedItem('user')).value.trim();
  const org = /** @type {HTMLInputElement} */ (form.elements.namedItem('org')).value.trim();
  const single = /** @type {HTMLInputElement} */ (form.elements.namedItem('single')).checked;
  const error = el('login-error');
  error.hidden = true;
  const claims = { org, ...(single ? { sessionPolicy: { max: 1, onLimit: 'kick-oldest' } } : {}) };
  try {
    const response = await fetch('/auth/dev-login', {
      method: 'POST',
      credentials: 'include',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, claims }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.message ?? `HTTP ${response.status}`);
    }
  } catch (failure) {
    error.textContent = `Login failed: ${failure instanceof Error ? failure.message : String(failure)}`;
    error.hidden = false;
    return;
  }
  localStorage.setItem(STORAGE_KEY, JSON.stringify({ user, org, single }));
  start(user, org);
});

el('logout').addEventListener('click', async () => {
  state.client?.disconnect();
  await fetch('/auth/logout', { method: 'POST', credentials: 'include' }).catch(() => {});
  reset();
});

// ---- the client ----------------------------------------------------------------------------------------------------

/** @param {string} user @param {string} org */
function start(user, org) {
  reset();
  state.me = user;
  state.org = org;
  const client = new WsgateClient({
    // A ticket is single-use: the SDK asks for a fresh one before every attempt, reconnects included.
    async getTicket() {
      const response = await fetch('/auth/ticket', { method: 'POST', credentials: 'include' });
      if (!response.ok) throw new Error(`ticket: HTTP ${response.status}`);
      return (await response.json()).ticket;
    },
    // Where a proxy refuses WebSockets the SDK falls back to SSE (or HTTP streaming); `?upgradeRetryMs=` sets how
    // often it tries a WebSocket again, to watch it move back.
    ...upgradeRetryOption(),
  });
  state.client = client;
  client.on('status', renderStatus);
  client.on('direct', onDirect);
  client.on('error', (error) => console.debug('wsgate:', error.code, error.message));

  el('login').hidden = true;
  el('app').hidden = false;
  el('whoami').hidden = false;
  el('whoami-user').textContent = `${user} · ${org}`;
  el('whoami-session').textContent = '';

  client.connect();
  openChannel(`org:${org}`);
  openChannel('chat:lobby');
  select(`org:${org}`);
}

/** `?upgradeRetryMs=<ms>` on the page's URL, as the client's `upgradeRetryInterval`. */
function upgradeRetryOption() {
  const value = Number(new URLSearchParams(location.search).get('upgradeRetryMs'));
  return Number.isInteger(value) && value > 0 ? { upgradeRetryInterval: value } : {};
}

/** Back to the login form, with no client and no conversations. */
function reset() {
  state.client?.disconnect();
  state.client = null;
  for (const conversation of state.conversations.values()) clearTimeout(conversation.presenceTimer);
  state.conversations.clear();
  state.active = null;
  state.me = null;
  el('app').hidden = true;
  el('whoami').hidden = true;
  el('login').hidden = false;
  el('notice').hidden = true;
  renderStatus({ type: 'disconnected', code: 1000, reason: 'not connected' });
  renderConversations();
  prefillLogin();
}

/** @param {import('/client.js').ClientStatus} status */
function renderStatus(status) {
  const badge = el('status');
  badge.dataset.status = status.type;
  document.body.dataset.connection = status.type;
  delete badge.dataset.code;
  delete badge.dataset.transport;
  const notice = el('notice');
  const reconnectHere = el('notice-reconnect');
  switch (status.type) {
    case 'connecting':
      badge.textContent = 'connecting…';
      break;
    case 'connected':
      badge.textContent = status.transport === 'websocket' ? 'connected' : `connected · ${status.transport}`;
      badge.dataset.transport = status.transport;
      el('whoami-session').textContent = `session ${status.session.slice(0, 6)} · node ${status.node} · ${status.transport}`;
      notice.hidden = true;
      break;
    case 'reconnecting':
      badge.textContent = `reconnecting · attempt ${status.attempt} in ${(status.delay / 1000).toFixed(1)} s`;
      showNotice('Connection lost. Reconnecting; your conversations come back on their own.', false);
      break;
    case 'disconnected':
      badge.dataset.code = String(status.code);
      if (status.code === 4501) {
        badge.textContent = 'disconnected · replaced';
        showNotice('This tab was replaced by a newer session of the same user (single-session policy). It has stopped and will not reconnect.', true);
      } else if (status.code === 4502) {
        badge.textContent = 'disconnected · session limit';
        showNotice('The session limit of this user is reached. This tab will not reconnect.', true);
      } else if (status.code === 1000) {
        badge.textContent = 'disconnected';
      } else {
        badge.textContent = `disconnected (${status.code})`;
        showNotice(`Disconnected by the gateway: ${status.reason} (${status.code}).`, true);
      }
      break;
  }
  const stopped = status.type === 'disconnected';
  /** @type {HTMLButtonElement} */ (el('compose-send')).disabled = stopped;
  /** @type {HTMLInputElement} */ (el('compose-input')).disabled = stopped;
  if (!stopped) reconnectHere.hidden = true;
}

/** @param {string} text @param {boolean} offerReconnect */
function showNotice(text, offerReconnect) {
  el('notice-text').textContent = text;
  el('notice-reconnect').hidden = !offerReconnect;
  el('notice').hidden = false;
}

el('notice-reconnect').addEventListener('click', () => state.client?.connect());

// ---- conversations -------------------------------------------------------------------------------------------------

/** @param {string} channel */
function channelTitle(channel) {
  if (channel === `org:${state.org}`) return `${state.org} hub`;
  const orgRoom = channel.match(/^org:[^/]+\/room:(.+)$/);
  if (orgRoom) return `# ${orgRoom[1]}`;
  const chat = channel.match(/^chat:(.+)$/);
  if (chat) return `# ${chat[1]} (public)`;
  return channel;
}

/** @param {string} key @param {Partial<Conversation>} fields @returns {Conversation} */
function conversation(key, fields) {
  let existing = state.conversations.get(key);
  if (!existing) {
    existing = { key, kind: 'channel', title: key, entries: [], seen: new Set(), members: new Map(), unread: 0, ...fields };
    state.conversations.set(key, existing);
    renderConversations();
  }
  return existing;
}

/** Subscribes to a channel (once) and wires its events into a conversation. @param {string} channel */
function openChannel(channel) {
  const client = state.client;
  if (!client || state.conversations.has(channel)) return state.conversations.get(channel);
  const subscription = client.subscribe(channel); // throws CHANNEL_INVALID for a bad name
  const conv = conversation(channel, { kind: 'channel', channel, title: channelTitle(channel), subscription });

  subscription.on('message', (publication) => {
    if (!firstSighting(conv, publication)) return;
    const from = publication.from?.user ?? 'backend';
    const own = from === state.me;
    add(conv, { kind: 'room', from: own ? 'you (other tab)' : from, text: textOf(publication.data), offset: publication.offset, own });
  });
  subscription.on('join', ({ user }) => {
    if (!conv.members.has(user)) conv.members.set(user, 1);
    add(conv, { kind: 'system', text: `${user} joined` });
    refreshPresenceSoon(conv);
  });
  subscription.on('leave', ({ user }) => {
    conv.members.delete(user);
    add(conv, { kind: 'system', text: `${user} left` });
    refreshPresenceSoon(conv);
  });
  subscription.on('subscribed', ({ resubscribed }) => {
    if (!resubscribed) void loadHistory(conv);
    void refreshPresence(conv);
  });
  subscription.on('recovered', ({ publications }) => {
    if (publications > 0) add(conv, { kind: 'system', text: `${publications} missed message(s) recovered after reconnecting` });
  });
  subscription.on('recovery-failed', () => {
    add(conv, { kind: 'system', text: 'Reconnected to a gateway that no longer has this channel\u2019s history; messages sent while offline may be missing.' });
  });
  subscription.on('error', (error) => {
    conv.failed = true;
    add(conv, { kind: 'system', text: `Could not join ${channel}: ${error.code}` });
  });
  subscription.on('unsubscribed', ({ byServer }) => {
    if (byServer) add(conv, { kind: 'system', text: `The gateway removed this subscription.` });
  });
  return conv;
}

/**
 * History and live messages overlap right after subscribing; a position (epoch and offset: a restarted memory engine
 * starts a new epoch at offset 1) is shown once. True the first time.
 * @param {Conversation} conv @param {{ epoch: string, offset: number }} position
 */
function firstSighting(conv, { epoch, offset }) {
  const key = `${epoch}:${offset}`;
  if (conv.seen.has(key)) return false;
  conv.seen.add(key);
  return true;
}

/** @param {Conversation} conv */
async function loadHistory(conv) {
  if (!conv.subscription) return;
  try {
    const { publications } = await conv.subscription.history({ limit: 50 });
    const earlier = publications.filter((p) => firstSighting(conv, p));
    const entries = earlier.map((p) => {
      const from = p.from?.user ?? 'backend';
      return /** @type {Entry} */ ({ kind: 'room', from: from === state.me ? 'you' : from, text: textOf(p.data), offset: p.offset, at: new Date(), own: from === state.me });
    });
    if (entries.length === 0) return;
    conv.entries.unshift(...entries, { kind: 'system', text: 'earlier messages above', at: new Date() });
    if (state.active === conv.key) renderMessages();
  } catch {
    // Namespaces without history answer with an error; the conversation simply starts empty.
  }
}

/** Presence after subscribing, and after joins and leaves: the session counts are not pushed, only first/last session. */
/** @param {Conversation} conv */
async function refreshPresence(conv) {
  if (!conv.subscription || conv.subscription.state !== 'subscribed') return;
  try {
    const members = await conv.subscription.presence();
    conv.members = new Map(members.map((m) => [m.user, m.sessions]));
    if (state.active === conv.key) renderMembers();
  } catch {
    // Offline or presence disabled: keep what the join/leave events told us.
  }
}

/** @param {Conversation} conv */
function refreshPresenceSoon(conv) {
  if (state.active === conv.key) renderMembers();
  clearTimeout(conv.presenceTimer);
  conv.presenceTimer = window.setTimeout(() => void refreshPresence(conv), 150);
}

/** @param {string} peer */
function directConversation(peer) {
  return conversation(`dm:${peer}`, { kind: 'direct', peer, title: `@ ${peer}` });
}

/** @param {import('/client.js').DirectMessage} message */
function onDirect({ from, to, data }) {
  // A direct from this user is the mirror of one sent from another tab; otherwise it is addressed to us.
  const mirrored = from.user === state.me;
  const peer = mirrored ? to : from.user;
  const conv = directConversation(peer);
  add(conv, { kind: 'direct', from: mirrored ? `you → ${to}` : `${from.user} → you`, text: textOf(data), own: mirrored });
}

/** @param {unknown} data */
function textOf(data) {
  if (data && typeof data === 'object' && typeof (/** @type {{text?: unknown}} */ (data).text) === 'string') return /** @type {{text: string}} */ (data).text;
  return JSON.stringify(data);
}

/** @param {Conversation} conv @param {Omit<Entry, 'at'> & { at?: Date }} entry */
function add(conv, entry) {
  conv.entries.push({ at: new Date(), ...entry });
  if (state.active === conv.key) renderMessages();
  else if (entry.kind !== 'system') {
    conv.unread++;
    renderConversations();
  }
}

/** @param {string} key */
function select(key) {
  const conv = state.conversations.get(key);
  if (!conv) return;
  state.active = key;
  conv.unread = 0;
  el('conversation-title').textContent = conv.title;
  el('conversation-channel').textContent = conv.kind === 'channel' ? conv.channel ?? '' : `direct messages with ${conv.peer}`;
  /** @type {HTMLInputElement} */ (el('compose-input')).placeholder = conv.kind === 'channel' ? `Message ${conv.title}` : `Message ${conv.peer} directly`;
  renderConversations();
  renderMessages();
  renderMembers();
  if (conv.kind === 'channel') void refreshPresence(conv);
}

/** @param {string} key */
async function leave(key) {
  const conv = state.conversations.get(key);
  if (!conv) return;
  state.conversations.delete(key);
  clearTimeout(conv.presenceTimer);
  if (state.active === key) {
    const next = state.conversations.keys().next();
    if (next.done) {
      state.active = null;
      renderMessages();
      renderMembers();
    } else select(next.value);
  }
  renderConversations();
  await conv.subscription?.unsubscribe();
}

// ---- rendering -----------------------------------------------------------------------------------------------------

function renderConversations() {
  const list = el('conversations');
  list.replaceChildren(
    ...[...state.conversations.values()].map((conv) => {
      const item = document.createElement('li');
      item.dataset.testid = 'conversation';
      item.dataset.key = conv.key;
      item.classList.toggle('active', conv.key === state.active);
      item.classList.toggle('direct', conv.kind === 'direct');
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'open';
      open.dataset.testid = 'conversation-open';
      open.textContent = conv.title;
      open.addEventListener('click', () => select(conv.key));
      item.append(open);
      if (conv.unread > 0) {
        const unread = document.createElement('span');
        unread.className = 'unread';
        unread.dataset.testid = 'unread';
        unread.textContent = String(conv.unread);
        item.append(unread);
      }
      const close = document.createElement('button');
      close.type = 'button';
      close.className = 'close';
      close.dataset.testid = 'conversation-leave';
      close.title = conv.kind === 'channel' ? `Leave ${conv.channel}` : 'Close';
      close.textContent = '×';
      close.addEventListener('click', () => void leave(conv.key));
      item.append(close);
      return item;
    }),
  );
}

function renderMessages() {
  const list = el('messages');
  const conv = state.active ? state.conversations.get(state.active) : undefined;
  list.replaceChildren(
    ...(conv?.entries ?? []).map((entry) => {
      const item = document.createElement('li');
      item.dataset.testid = entry.kind === 'system' ? 'system-message' : 'message';
      item.dataset.kind = entry.kind;
      item.classList.add(entry.kind);
      if (entry.own) item.classList.add('own');
      if (entry.kind !== 'system') {
        const from = document.createElement('span');
        from.className = 'from';
        from.dataset.testid = 'message-from';
        from.textContent = entry.from ?? '';
        const time = document.createElement('time');
        time.dateTime = entry.at.toISOString();
        time.textContent = entry.at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
        const meta = document.createElement('div');
        meta.className = 'meta';
        meta.append(from, time);
        item.append(meta);
      }
      const text = document.createElement('div');
      text.className = 'text';
      text.dataset.testid = 'message-text';
      text.textContent = entry.text;
      item.append(text);
      return item;
    }),
  );
  list.scrollTop = list.scrollHeight;
}

function renderMembers() {
  const list = el('members');
  const conv = state.active ? state.conversations.get(state.active) : undefined;
  if (!conv || conv.kind !== 'channel') {
    el('members-hint').textContent = conv ? `Direct messages reach every tab of ${conv.peer}, and your other tabs see a copy.` : '';
    list.replaceChildren();
    return;
  }
  el('members-hint').textContent = 'Click someone to message them directly.';
  const members = [...conv.members.entries()].sort(([a], [b]) => (a === state.me ? -1 : b === state.me ? 1 : a.localeCompare(b)));
  list.replaceChildren(
    ...members.map(([user, sessions]) => {
      const item = document.createElement('li');
      item.dataset.testid = 'member';
      item.dataset.user = user;
      const button = document.createElement('button');
      button.type = 'button';
      button.disabled = user === state.me;
      button.title = user === state.me ? 'you' : `Message ${user} directly`;
      const dot = document.createElement('span');
      dot.className = 'dot';
      dot.setAttribute('aria-hidden', 'true');
      const name = document.createElement('span');
      name.className = 'name';
      name.dataset.testid = 'member-name';
      name.textContent = user === state.me ? `${user} (you)` : user;
      const count = document.createElement('span');
      count.className = 'sessions';
      count.dataset.testid = 'member-sessions';
      count.textContent = sessions === 1 ? '1 session' : `${sessions} sessions`;
      button.append(dot, name, count);
      button.addEventListener('click', () => {
        directConversation(user);
        select(`dm:${user}`);
        /** @type {HTMLInputElement} */ (el('compose-input')).focus();
      });
      item.append(button);
      return item;
    }),
  );
}

// ---- sending -------------------------------------------------------------------------------------------------------

el('compose-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (el('compose-input'));
  const text = input.value.trim();
  const conv = state.active ? state.conversations.get(state.active) : undefined;
  if (!text || !conv || !state.client) return;
  input.value = '';
  try {
    if (conv.kind === 'channel' && conv.channel) {
      // The gateway does not echo a publication to its publisher; show it here with the offset it got.
      const position = await state.client.publish(conv.channel, { text });
      firstSighting(conv, position);
      const { offset } = position;
      add(conv, { kind: 'room', from: 'you', text, offset, own: true });
    } else if (conv.peer) {
      const { sessions } = await state.client.send(conv.peer, { text });
      add(conv, { kind: 'direct', from: `you → ${conv.peer}`, text, own: true });
      if (sessions === 0) add(conv, { kind: 'system', text: `${conv.peer} is not online; direct messages are not stored.` });
    }
  } catch (error) {
    add(conv, { kind: 'system', text: `Not sent (${error?.code ?? error}): ${text}` });
  }
});

el('room-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem('room'));
  const scope = /** @type {HTMLSelectElement} */ (form.elements.namedItem('scope')).value;
  const error = el('room-error');
  const name = input.value.trim();
  error.hidden = true;
  if (!NAME_PATTERN.test(name)) {
    error.textContent = 'Room names use letters, digits, "-", "_" and "."';
    error.hidden = false;
    return;
  }
  const channel = scope === 'org' ? `org:${state.org}/room:${name}` : `chat:${name}`;
  try {
    openChannel(channel);
  } catch (failure) {
    error.textContent = `Cannot join ${channel}: ${failure?.code ?? failure}`;
    error.hidden = false;
    return;
  }
  input.value = '';
  select(channel);
});

prefillLogin();

// The playground page: one person's chat with the bot, live over server-sent events, and the
// sandbox reseller's panel. Everything the page does goes through the Bot API emulator.
"use strict";

const api = "/playground/api";
const state = {
  people: [], me: null, events: null, rendered: new Map(), commands: [], counts: {}, seen: {},
};
const $ = (selector) => document.querySelector(selector);

async function call(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(api + path, options);
  const data = await response.json().catch(() => ({ ok: false, error: response.statusText }));
  if (!response.ok || data.ok === false) throw new Error(data.error || response.statusText);
  return data;
}

function toast(text) {
  const box = $("#toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

function initials(name) { return name.slice(0, 1).toUpperCase(); }

// -- people -------------------------------------------------------------------------------

function renderPeople() {
  const list = $("#people-list");
  list.replaceChildren();
  for (const person of state.people) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.dataset.person = person.id;
    button.className = person.id === state.me?.id ? "person active" : "person";
    const avatar = document.createElement("span");
    avatar.className = "avatar" + (person.admin ? " admin" : "");
    avatar.textContent = initials(person.name);
    const label = document.createElement("span");
    label.className = "person-label";
    const name = document.createElement("span");
    name.className = "person-name";
    name.textContent = person.name;
    const meta = document.createElement("span");
    meta.className = "person-meta";
    meta.textContent = person.language.toUpperCase() + (person.admin ? " · admin" : " · customer");
    label.append(name, meta);
    button.append(avatar, label);
    const unread = (state.counts[person.id] || 0) - (state.seen[person.id] || 0);
    if (person.id !== state.me?.id && unread > 0) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = unread;
      button.append(badge);
    }
    button.addEventListener("click", () => choose(person));
    item.append(button);
    list.append(item);
  }
}

function choose(person) {
  state.me = person;
  state.rendered.clear();
  $("#messages").replaceChildren();
  $("#me-name").textContent = person.name + (person.admin ? " (admin)" : "");
  renderPeople();
  if (state.events) state.events.close();
  state.events = new EventSource(`${api}/events?user=${person.id}`);
  state.events.onmessage = (event) => renderChat(JSON.parse(event.data));
  $("#composer-input").focus();
}

// -- chat ---------------------------------------------------------------------------------

function renderChat(chat) {
  if (!state.me || chat.user !== state.me.id) return;
  $("#stars").textContent = "⭐ " + chat.stars.toLocaleString("en-US");
  state.commands = chat.commands;
  state.counts = chat.counts;
  state.seen[state.me.id] = chat.counts[state.me.id];
  renderPeople();
  const box = $("#messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const seen = new Set();
  let previous = null;
  for (const message of chat.messages) {
    const key = JSON.stringify(message);
    seen.add(message.id);
    let entry = state.rendered.get(message.id);
    if (!entry || entry.key !== key) {
      const element = renderMessage(message);
      if (entry) entry.element.replaceWith(element);
      entry = { key, element };
      state.rendered.set(message.id, entry);
    }
    const expected = previous ? previous.nextSibling : box.firstChild;
    if (expected !== entry.element) box.insertBefore(entry.element, expected);
    previous = entry.element;
  }
  for (const [id, entry] of state.rendered) {
    if (!seen.has(id)) { entry.element.remove(); state.rendered.delete(id); }
  }
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function renderMessage(message) {
  const row = document.createElement("div");
  row.dataset.id = message.id;
  if (message.service) {
    row.className = "msg service";
    row.textContent = message.service;
    return row;
  }
  row.className = "msg " + (message.fromBot ? "in" : "out");
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (message.photo) {
    const image = document.createElement("img");
    image.className = "photo";
    image.alt = "photo";
    image.src = message.photo;
    image.addEventListener("load", () => {
      const box = $("#messages");
      if (box.scrollHeight - box.scrollTop - box.clientHeight < image.height + 120) {
        box.scrollTop = box.scrollHeight;
      }
    });
    bubble.append(image);
  }
  if (message.invoice) bubble.append(renderInvoice(message.invoice));
  if (message.document) {
    const doc = document.createElement("div");
    doc.className = "document";
    doc.textContent = "📄 " + message.document;
    bubble.append(doc);
  }
  const text = message.text ?? message.caption;
  if (text) {
    const body = document.createElement("div");
    body.className = "text";
    body.append(renderText(text, message.entities ?? message.caption_entities, sendCommand));
    bubble.append(body);
  }
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = message.edited ? "edited" : "";
  bubble.append(meta);
  row.append(bubble);
  if (message.buttons.length) row.append(renderKeyboard(message));
  return row;
}

function renderInvoice(invoice) {
  const box = document.createElement("div");
  box.className = "invoice";
  const title = document.createElement("div");
  title.className = "invoice-title";
  title.textContent = invoice.title;
  const description = document.createElement("div");
  description.className = "invoice-description";
  description.textContent = invoice.description;
  const total = document.createElement("div");
  total.className = "invoice-total";
  const amount = invoice.currency === "XTR" ? "⭐ " + invoice.total_amount : invoice.total_amount;
  total.textContent = amount + (invoice.paid ? " · paid" : "");
  box.append(title, description, total);
  return box;
}

function renderKeyboard(message) {
  const keyboard = document.createElement("div");
  keyboard.className = "keyboard";
  for (const row of message.buttons) {
    const line = document.createElement("div");
    line.className = "kb-row";
    for (const button of row) {
      const element = document.createElement("button");
      element.className = "kb-btn" + (button.pay ? " pay" : "") + (button.url ? " link" : "");
      element.textContent = button.text;
      element.disabled = Boolean(button.paid);
      element.addEventListener("click", () => press(message, button, element));
      line.append(element);
    }
    keyboard.append(line);
  }
  return keyboard;
}

async function press(message, button, element) {
  if (button.url) { window.open(button.url, "_blank", "noopener"); return; }
  element.classList.add("busy");
  try {
    if (button.pay) {
      await call("/pay", { user: state.me.id, message: message.id });
    } else if (button.callback_data !== undefined) {
      const answer = await call("/tap", {
        user: state.me.id, message: message.id, data: button.callback_data,
      });
      if (answer.toast) toast(answer.toast);
    }
  } catch (error) {
    toast(error.message);
  } finally {
    element.classList.remove("busy");
  }
}

async function send(text) {
  if (!state.me || !text.trim()) return;
  try {
    await call("/send", { user: state.me.id, text });
  } catch (error) {
    toast(error.message);
  }
}

function sendCommand(command) { send(command); }

function toggleMenu() {
  const popup = $("#menu-popup");
  if (!popup.hidden) { popup.hidden = true; return; }
  popup.replaceChildren();
  if (!state.commands.length) {
    popup.textContent = "The bot has no command menu.";
  }
  for (const command of state.commands) {
    const item = document.createElement("button");
    item.className = "menu-item";
    const name = document.createElement("span");
    name.className = "menu-command";
    name.textContent = "/" + command.command;
    const description = document.createElement("span");
    description.textContent = command.description;
    item.append(name, description);
    item.addEventListener("click", () => { popup.hidden = true; send("/" + command.command); });
    popup.append(item);
  }
  popup.hidden = false;
}

// -- sandbox ------------------------------------------------------------------------------

function dollars(cents) { return "$" + (cents / 100).toFixed(2); }

function megabytes(bytes) {
  return bytes >= 2 ** 30 ? (bytes / 2 ** 30).toFixed(2) + " GB" : Math.round(bytes / 2 ** 20) + " MB";
}

function renderSandbox(data) {
  $("#wallet").textContent = "Wallet: " + dollars(data.balanceCents);
  const faults = data.faults;
  const active = [];
  if (faults.failOrders) active.push(`next ${faults.failOrders} order(s) fail`);
  if (faults.dropWebhooks) active.push(`drop ${faults.dropWebhooks} webhook(s)`);
  if (faults.duplicateWebhooks) active.push(`duplicate ${faults.duplicateWebhooks} webhook(s)`);
  if (faults.error500) active.push("answering 500");
  if (faults.rateLimited) active.push("answering 429");
  $("#fault-state").textContent = active.length ? "Active: " + active.join(", ") : "No faults.";
  const esims = $("#esims");
  esims.replaceChildren();
  for (const esim of data.esims) {
    const item = document.createElement("li");
    const label = document.createElement("div");
    label.textContent = `${esim.package} · ${esim.status} · ${megabytes(esim.usedBytes)} / ${megabytes(esim.totalBytes)}`;
    const iccid = document.createElement("div");
    iccid.className = "small";
    iccid.textContent = esim.iccid;
    const install = document.createElement("button");
    install.textContent = "Mark installed";
    install.addEventListener("click", () => sandboxAction("install", esim.iccid));
    const use = document.createElement("button");
    use.textContent = "Use 512 MB";
    use.addEventListener("click", () => sandboxAction("use_data", esim.iccid));
    item.append(label, iccid, install, use);
    esims.append(item);
  }
  if (!data.esims.length) esims.innerHTML = '<li class="empty">none yet</li>';
  const orders = $("#orders");
  orders.replaceChildren();
  for (const order of data.orders) {
    const item = document.createElement("li");
    item.textContent = `${order.reference} · ${order.package} · ${order.status}` +
      (order.failure ? ` (${order.failure})` : "");
    orders.append(item);
  }
  if (!data.orders.length) orders.innerHTML = '<li class="empty">none yet</li>';
}

async function refreshSandbox() {
  try {
    renderSandbox(await call("/sandbox"));
  } catch (error) {
    $("#wallet").textContent = "Wallet: " + error.message;
  }
}

async function sandboxAction(action, iccid) {
  try {
    renderSandbox(await call("/sandbox", { action, iccid }));
    toast("Sandbox: " + action.replace("_", " "));
  } catch (error) {
    toast(error.message);
  }
}

// -- start --------------------------------------------------------------------------------

async function start() {
  const data = await call("/people");
  state.people = data.people;
  $("#bot-name").textContent = data.bot.first_name + " @" + data.bot.username;
  $("#composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("#composer-input");
    const text = input.value;
    input.value = "";
    send(text);
  });
  $("#menu-button").addEventListener("click", (event) => { event.stopPropagation(); toggleMenu(); });
  document.addEventListener("click", (event) => {
    if (!$("#menu-popup").contains(event.target)) $("#menu-popup").hidden = true;
  });
  for (const button of document.querySelectorAll("#sandbox .faults button")) {
    button.addEventListener("click", () => sandboxAction(button.dataset.action));
  }
  choose(state.people[0]);
  refreshSandbox();
  setInterval(refreshSandbox, 2000);
}

start().catch((error) => toast("The playground is not reachable: " + error.message));

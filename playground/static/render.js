// Telegram message text + entities -> DOM nodes. Offsets are UTF-16 code units, which is what
// JavaScript strings index by, so slicing needs no conversion. Builds nodes, never HTML strings.
"use strict";

function entityElement(entity, text, onCommand) {
  const tags = {
    bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code",
    pre: "pre", blockquote: "blockquote", expandable_blockquote: "blockquote",
  };
  if (entity.type in tags) return document.createElement(tags[entity.type]);
  if (entity.type === "spoiler") {
    const span = document.createElement("span");
    span.className = "spoiler";
    span.addEventListener("click", () => span.classList.add("revealed"));
    return span;
  }
  if (entity.type === "text_link" || entity.type === "url") {
    const a = document.createElement("a");
    a.href = entity.type === "url" ? text : entity.url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }
  if (entity.type === "bot_command") {
    const a = document.createElement("a");
    a.href = "#";
    a.className = "command";
    a.addEventListener("click", (event) => { event.preventDefault(); onCommand(text); });
    return a;
  }
  return document.createElement("span");
}

function renderText(text, entities, onCommand) {
  const sorted = (entities || []).slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
  function build(start, end, list) {
    const fragment = document.createDocumentFragment();
    let position = start;
    let index = 0;
    while (index < list.length) {
      const entity = list[index];
      const entityEnd = entity.offset + entity.length;
      if (entity.offset < position || entityEnd > end) { index += 1; continue; }
      if (entity.offset > position) fragment.append(text.slice(position, entity.offset));
      const inner = [];
      index += 1;
      while (index < list.length && list[index].offset < entityEnd) {
        inner.push(list[index]);
        index += 1;
      }
      const element = entityElement(entity, text.slice(entity.offset, entityEnd), onCommand);
      element.append(build(entity.offset, entityEnd, inner));
      fragment.append(element);
      position = entityEnd;
    }
    if (position < end) fragment.append(text.slice(position, end));
    return fragment;
  }
  return build(0, text.length, sorted);
}
